package predict

import (
	"encoding/json"

	"github.com/ulmfit-go/ulmfit/stage/metrics"
)

// AppendJSON appends one prediction as a JSON object:
//
//	{"text":...,"label":...,"probs":{"LABEL":p,...}}
//
// with the probabilities in label order (float32, shortest form that reads
// back to the same float32), "labels":[...] (those with p >= threshold)
// instead of "label" for multi-label models, and "tokens" when tokens is
// non-nil. 'evaluate predict' and 'evaluate serve' both print with it, so
// their numbers are the same to the last digit.
func AppendJSON(b []byte, names []string, multi bool, text string, probs []float32, threshold float64, tokens []string) []byte {
	b = append(b, `{"text":`...)
	b = appendValue(b, text)
	if multi {
		on := []string{}
		for i, v := range probs {
			if float64(v) >= threshold {
				on = append(on, names[i])
			}
		}
		b = append(b, `,"labels":`...)
		b = appendValue(b, on)
	} else {
		b = append(b, `,"label":`...)
		b = appendValue(b, names[metrics.Argmax(probs)])
	}
	b = append(b, `,"probs":{`...)
	for i, v := range probs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendValue(b, names[i])
		b = append(b, ':')
		b = appendValue(b, v)
	}
	b = append(b, '}')
	if tokens != nil {
		b = append(b, `,"tokens":`...)
		b = appendValue(b, tokens)
	}
	return append(b, '}')
}

// appendValue appends the JSON of a string, a []string or a finite
// float32; these cannot fail to marshal (a NaN probability would be a bug
// upstream, and is written as null rather than breaking the line).
func appendValue(b []byte, v any) []byte {
	js, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, js...)
}
