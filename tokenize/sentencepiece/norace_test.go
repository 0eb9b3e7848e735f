//go:build !race

package sentencepiece

// raceEnabled: the test binary was built with -race.
const raceEnabled = false
