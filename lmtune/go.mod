module github.com/ulmfit-go/ulmfit/lmtune

go 1.25

require github.com/spf13/pflag v1.1.0 // indirect

require (
	github.com/ulmfit-go/ulmfit/artifacts v0.0.0
	github.com/ulmfit-go/ulmfit/nn v0.0.0
	github.com/ulmfit-go/ulmfit/pretrain v0.0.0
)

replace (
	github.com/ulmfit-go/ulmfit/artifacts => ../artifacts
	github.com/ulmfit-go/ulmfit/nn => ../nn
	github.com/ulmfit-go/ulmfit/pretrain => ../pretrain
)
