module github.com/ulmfit-go/ulmfit/ensemble

go 1.25.0

require (
	codeberg.org/go-fonts/liberation v0.5.0 // indirect
	codeberg.org/go-latex/latex v0.2.0 // indirect
	codeberg.org/go-pdf/fpdf v0.11.1 // indirect
	git.sr.ht/~sbinet/gg v0.7.0 // indirect
	github.com/ajstarks/svgo v0.0.0-20211024235047-1546f124cd8b // indirect
	github.com/apache/arrow-go/v18 v18.8.0 // indirect
	github.com/ebitengine/purego v0.11.3 // indirect
	github.com/goccy/go-json v0.10.6 // indirect
	github.com/golang/freetype v0.0.0-20170609003504-e2365dfdc4a0 // indirect
	github.com/google/flatbuffers v25.12.19+incompatible // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/klauspost/cpuid/v2 v2.4.0 // indirect
	github.com/pierrec/lz4/v4 v4.1.29 // indirect
	github.com/spf13/pflag v1.1.0 // indirect
	github.com/ulmfit-go/ulmfit/tokenize v0.0.0 // indirect
	github.com/zeebo/xxh3 v1.1.0 // indirect
	golang.org/x/exp v0.0.0-20260112195511-716be5621a96 // indirect
	golang.org/x/image v0.30.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.41.0 // indirect
	gonum.org/v1/gonum v0.17.0 // indirect
	gonum.org/v1/plot v0.17.0 // indirect
)

require (
	github.com/ulmfit-go/ulmfit/artifacts v0.0.0
	github.com/ulmfit-go/ulmfit/nn v0.0.0
	github.com/ulmfit-go/ulmfit/stage v0.0.0-00010101000000-000000000000
)

replace (
	github.com/ulmfit-go/ulmfit/artifacts => ../artifacts
	github.com/ulmfit-go/ulmfit/nn => ../nn
	github.com/ulmfit-go/ulmfit/stage => ../stage
	github.com/ulmfit-go/ulmfit/tokenize => ../tokenize
)
