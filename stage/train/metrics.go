package train

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"time"
)

// Float is a float64 that marshals NaN and ±Inf as JSON null (encoding/json
// refuses them) and finite values in the shortest exact form.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// Floats converts a slice for use in a record.
func Floats(v []float64) []Float {
	out := make([]Float, len(v))
	for i, x := range v {
		out[i] = Float(x)
	}
	return out
}

// Record is one line of the metrics log. Type is "step" (a logged training
// step), "valid" (a validation pass), "epoch" (end of an epoch), "lr_find"
// (one LR-finder iteration), "checkpoint", or "summary" (the final line).
// Zero-valued optional fields are omitted.
type Record struct {
	Type  string  `json:"type"`
	Time  Float   `json:"time"` // seconds since the writer was opened (this process)
	Step  int64   `json:"step"` // global optimizer step
	Epoch int     `json:"epoch,omitempty"`
	Loss  *Float  `json:"loss,omitempty"`
	PPL   *Float  `json:"ppl,omitempty"`
	LR    []Float `json:"lr,omitempty"` // per layer group
	// TokensPerSec is the training throughput since the last record of the
	// same type.
	TokensPerSec Float          `json:"tokens_per_sec,omitempty"`
	Tokens       int64          `json:"tokens,omitempty"` // cumulative tokens trained
	SeqLen       int            `json:"seq_len,omitempty"`
	ValidLoss    *Float         `json:"valid_loss,omitempty"`
	ValidPPL     *Float         `json:"valid_ppl,omitempty"`
	Accuracy     *Float         `json:"accuracy,omitempty"`
	Extra        map[string]any `json:"extra,omitempty"`
}

// Ptr returns a pointer to Float(v), for the optional Record fields.
func Ptr(v float64) *Float { f := Float(v); return &f }

// MetricsWriter appends JSON objects, one per line, to a file. It buffers and
// flushes at most every FlushEvery (default 2s) and on Close. A nil
// *MetricsWriter (no --log given) accepts and drops all writes.
type MetricsWriter struct {
	mu         sync.Mutex
	f          *os.File
	bw         *bufio.Writer
	start      time.Time
	lastFlush  time.Time
	FlushEvery time.Duration
	err        error
}

// OpenMetrics opens path for JSONL metrics. With appendTo the file is
// extended (a resumed run continues its log); otherwise it is truncated. An
// empty path returns a nil writer, which is valid and drops everything.
func OpenMetrics(path string, appendTo bool) (*MetricsWriter, error) {
	if path == "" {
		return nil, nil
	}
	flag := os.O_CREATE | os.O_WRONLY
	if appendTo {
		flag |= os.O_APPEND
	} else {
		flag |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open metrics log: %w", err)
	}
	now := time.Now()
	return &MetricsWriter{f: f, bw: bufio.NewWriterSize(f, 64<<10), start: now, lastFlush: now, FlushEvery: 2 * time.Second}, nil
}

// Write appends one record (Time is filled in when zero).
func (m *MetricsWriter) Write(r Record) error {
	if m == nil {
		return nil
	}
	if r.Time == 0 {
		r.Time = Float(time.Since(m.start).Seconds())
	}
	return m.WriteAny(r)
}

// WriteAny appends any JSON-marshalable object as one line.
func (m *MetricsWriter) WriteAny(v any) error {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("metrics log: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	b = append(b, '\n')
	if _, err := m.bw.Write(b); err != nil {
		m.err = fmt.Errorf("metrics log %s: %w", m.f.Name(), err)
		return m.err
	}
	if time.Since(m.lastFlush) >= m.FlushEvery {
		m.lastFlush = time.Now()
		if err := m.bw.Flush(); err != nil {
			m.err = fmt.Errorf("metrics log %s: %w", m.f.Name(), err)
			return m.err
		}
	}
	return nil
}

// Flush writes buffered lines to the file.
func (m *MetricsWriter) Flush() error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.lastFlush = time.Now()
	return m.bw.Flush()
}

// Close flushes and closes the file.
func (m *MetricsWriter) Close() error {
	if m == nil {
		return nil
	}
	err := m.Flush()
	if cerr := m.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("metrics log: %w", cerr)
	}
	return err
}
