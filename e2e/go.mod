module github.com/ulmfit-go/ulmfit/e2e

go 1.25

require github.com/ulmfit-go/ulmfit/artifacts v0.0.0

replace github.com/ulmfit-go/ulmfit/artifacts => ../artifacts
