//go:build !linux

package train

import "os"

// termWidth returns 0 (unknown) outside Linux; $COLUMNS or 100 is used.
func termWidth(*os.File) int { return 0 }
