module github.com/ulmfit-go/ulmfit/tokenize

go 1.25

require (
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/spf13/pflag v1.1.0 // indirect
)

require github.com/ulmfit-go/ulmfit/artifacts v0.0.0

replace github.com/ulmfit-go/ulmfit/artifacts => ../artifacts
