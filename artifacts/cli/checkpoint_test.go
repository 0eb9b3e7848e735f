package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestCheckpointingFlags(t *testing.T) {
	tests := []struct {
		args    []string
		every   time.Duration
		steps   int
		wantErr string
	}{
		{nil, 30 * time.Minute, 0, ""},
		{[]string{"--checkpoint-every", "10m"}, 10 * time.Minute, 0, ""},
		{[]string{"--checkpoint-every=90s"}, 90 * time.Second, 0, ""},
		{[]string{"--checkpoint-every", "1h30m"}, 90 * time.Minute, 0, ""},
		{[]string{"--checkpoint-every", "0"}, 0, 0, ""},
		{[]string{"--checkpoint-every", "10"}, 10 * time.Minute, 0, ""},          // bare number: minutes (pipelines/models.mk)
		{[]string{"--checkpoint-every", "0.002"}, 120 * time.Millisecond, 0, ""}, // old float-minutes form
		{[]string{"--checkpoint-steps", "25"}, 30 * time.Minute, 25, ""},
		{[]string{"--checkpoint-every", "-1"}, 0, 0, "want a duration >= 0"},
		{[]string{"--checkpoint-every", "-5s"}, 0, 0, "want a duration >= 0"},
		{[]string{"--checkpoint-every", "NaN"}, 0, 0, "want a duration >= 0"},
		{[]string{"--checkpoint-every", "ten"}, 0, 0, "want a duration such as 10m"},
		{[]string{"--checkpoint-steps", "-2"}, 0, 0, "--checkpoint-steps -2"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
			fs.SetOutput(new(strings.Builder))
			var c Checkpointing
			c.Register(fs, 30*time.Minute)
			err := fs.Parse(tt.args)
			if err == nil {
				err = c.Validate()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Duration() != tt.every || c.Steps != tt.steps {
				t.Errorf("every %v steps %d, want %v %d", c.Duration(), c.Steps, tt.every, tt.steps)
			}
		})
	}
}
