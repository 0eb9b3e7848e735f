package fastai

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/nlpodyssey/gopickle/pickle"
)

// The pickles this package reads come from the internet. gopickle trusts
// them: it allocates whatever length an opcode declares before reading it
// (10 bytes can ask for 322 GB and kill the process), and it panics on
// some malformed streams (opcode 0xff, a LONG1 of zero bytes, an
// unhashable dict key). So every pickle is first walked here, opcode by
// opcode, without building anything: unknown opcodes, lengths beyond the
// bytes that remain and oversized integers are errors. Only a stream that
// passes goes to gopickle, with exactly its own bytes, inside recover().

// Argument kinds of the pickle opcodes gopickle implements.
const (
	argNone  = iota + 1
	argFixed // n bytes
	argLine  // a newline-terminated line
	argLine2 // two lines (GLOBAL, INST)
	argLen1  // 1-byte length, then that many bytes
	argLen4  // 4-byte little-endian length (signed for BINSTRING/LONG4), then the bytes
	argLen8  // 8-byte little-endian length, then the bytes
	argFrame // 8-byte frame length; the frame's contents are opcodes
)

type opSpec struct {
	name string
	kind int
	n    int // bytes of a fixed argument
}

// pickleOps lists the opcodes through protocol 5, as gopickle decodes them.
var pickleOps = func() [256]opSpec {
	var t [256]opSpec
	none := func(c byte, name string) { t[c] = opSpec{name, argNone, 0} }
	fixed := func(c byte, name string, n int) { t[c] = opSpec{name, argFixed, n} }
	for c, name := range map[byte]string{
		'(': "MARK", '.': "STOP", '0': "POP", '1': "POP_MARK", '2': "DUP", 'N': "NONE",
		'Q': "BINPERSID", 'R': "REDUCE", 'a': "APPEND", 'b': "BUILD", 'd': "DICT",
		'}': "EMPTY_DICT", 'e': "APPENDS", 'l': "LIST", ']': "EMPTY_LIST", 'o': "OBJ",
		's': "SETITEM", 't': "TUPLE", ')': "EMPTY_TUPLE", 'u': "SETITEMS", 0x81: "NEWOBJ",
		0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE",
		0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX",
		0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
	} {
		none(c, name)
	}
	fixed('J', "BININT", 4)
	fixed('K', "BININT1", 1)
	fixed('M', "BININT2", 2)
	fixed('G', "BINFLOAT", 8)
	fixed('h', "BINGET", 1)
	fixed('j', "LONG_BINGET", 4)
	fixed('q', "BINPUT", 1)
	fixed('r', "LONG_BINPUT", 4)
	fixed(0x80, "PROTO", 1)
	fixed(0x82, "EXT1", 1)
	fixed(0x83, "EXT2", 2)
	fixed(0x84, "EXT4", 4)
	for c, name := range map[byte]string{'F': "FLOAT", 'I': "INT", 'L': "LONG", 'P': "PERSID",
		'S': "STRING", 'V': "UNICODE", 'g': "GET", 'p': "PUT"} {
		t[c] = opSpec{name, argLine, 0}
	}
	t['c'] = opSpec{"GLOBAL", argLine2, 0}
	t['i'] = opSpec{"INST", argLine2, 0}
	t[0x8a] = opSpec{"LONG1", argLen1, 0}
	t['U'] = opSpec{"SHORT_BINSTRING", argLen1, 0}
	t['C'] = opSpec{"SHORT_BINBYTES", argLen1, 0}
	t[0x8c] = opSpec{"SHORT_BINUNICODE", argLen1, 0}
	t['T'] = opSpec{"BINSTRING", argLen4, 0}
	t['B'] = opSpec{"BINBYTES", argLen4, 0}
	t['X'] = opSpec{"BINUNICODE", argLen4, 0}
	t[0x8b] = opSpec{"LONG4", argLen4, 0}
	t[0x8d] = opSpec{"BINUNICODE8", argLen8, 0}
	t[0x8e] = opSpec{"BINBYTES8", argLen8, 0}
	t[0x96] = opSpec{"BYTEARRAY8", argLen8, 0}
	t[0x95] = opSpec{"FRAME", argFrame, 0}
	return t
}()

// Limits on arguments that gopickle decodes in super-linear time. No
// checkpoint needs more: torch.save's largest integer is the 10-byte
// legacy magic number.
const (
	maxLongBytes = 1 << 12 // LONG1/LONG4 payload
	maxNumLine   = 1 << 12 // INT/LONG/FLOAT/GET/PUT decimal text
)

// scanPickle checks the pickle stream at the start of data and returns its
// length: through its STOP opcode, or through the end of a FRAME that
// extends past the STOP (gopickle consumes whole frames). base is data's
// offset in the file, for messages.
func scanPickle(data []byte, base int) (int, error) {
	bad := func(at int, format string, a ...any) (int, error) {
		return 0, fmt.Errorf("malformed pickle at byte %d: %s", base+at, fmt.Sprintf(format, a...))
	}
	frameEnd := 0
	for i := 0; i < len(data); {
		at := i
		c := data[i]
		op := pickleOps[c]
		i++
		rest := len(data) - i
		switch op.kind {
		case 0:
			if at == 0 {
				return bad(at, "unknown opcode 0x%02x (not a pickle)", c)
			}
			return bad(at, "unknown opcode 0x%02x", c)
		case argNone:
			if c == '.' {
				return max(i, frameEnd), nil
			}
		case argFixed:
			if op.n > rest {
				return bad(at, "%s needs %d bytes, %d remain (truncated file?)", op.name, op.n, rest)
			}
			i += op.n
		case argLine, argLine2:
			lines := 1
			if op.kind == argLine2 {
				lines = 2
			}
			for range lines {
				nl := bytes.IndexByte(data[i:], '\n')
				if nl < 0 {
					return bad(at, "%s: no end of line before the end of the data (truncated file?)", op.name)
				}
				if op.kind == argLine && c != 'S' && c != 'V' && c != 'P' && nl > maxNumLine {
					return bad(at, "%s argument of %d bytes is too long", op.name, nl)
				}
				i += nl + 1
			}
		case argLen1, argLen4, argLen8:
			w := map[int]int{argLen1: 1, argLen4: 4, argLen8: 8}[op.kind]
			if w > rest {
				return bad(at, "%s needs a length of %d bytes, %d remain (truncated file?)", op.name, w, rest)
			}
			var n uint64
			switch w {
			case 1:
				n = uint64(data[i])
			case 4:
				n = uint64(binary.LittleEndian.Uint32(data[i:]))
				if (c == 'T' || c == 0x8b) && n >= 1<<31 {
					return bad(at, "%s has a negative length", op.name)
				}
			case 8:
				n = binary.LittleEndian.Uint64(data[i:])
			}
			i += w
			if n > uint64(len(data)-i) {
				return bad(at, "%s declares %d bytes but only %d remain", op.name, n, len(data)-i)
			}
			if (c == 0x8a || c == 0x8b) && (n == 0 || n > maxLongBytes) {
				return bad(at, "%s integer of %d bytes is not supported", op.name, n)
			}
			i += int(n)
		case argFrame:
			if 8 > rest {
				return bad(at, "FRAME needs a length of 8 bytes, %d remain (truncated file?)", rest)
			}
			n := binary.LittleEndian.Uint64(data[i:])
			i += 8
			if n > uint64(len(data)-i) {
				return bad(at, "FRAME declares %d bytes but only %d remain", n, len(data)-i)
			}
			frameEnd = i + int(n)
		}
	}
	if len(data) == 0 {
		return bad(0, "no data (empty file?)")
	}
	return bad(len(data), "no STOP opcode before the end of the data (truncated file?)")
}

// unpickle decodes the pickle at the start of data (checked by scanPickle
// first) and returns the value and the bytes it spans. setup may install
// FindClass/PersistentLoad. A panic in gopickle or in a callback becomes an
// error.
func unpickle(data []byte, base int, setup func(u *pickle.Unpickler)) (obj any, n int, err error) {
	n, err = scanPickle(data, base)
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		if r := recover(); r != nil {
			obj, n = nil, 0
			err = fmt.Errorf("malformed pickle at byte %d: %s", base, oneLine(fmt.Sprint(r), 200))
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(data[:n]))
	if setup != nil {
		setup(&u)
	}
	obj, err = u.Load()
	if err != nil {
		if msg := oneLine(err.Error(), 200); msg != err.Error() {
			err = errors.New(msg) // gopickle may print whole stack values
		}
		return nil, 0, err
	}
	return obj, n, nil
}

// oneLine returns s with control characters replaced by spaces, cut to at
// most max bytes.
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		for max > 0 && !utf8.RuneStart(s[max]) {
			max--
		}
		s = s[:max] + "..."
	}
	return s
}

// short formats a value read from a file for an error message: one line,
// at most 60 bytes.
func short(v any) string { return oneLine(fmt.Sprint(v), 60) }

// maxErrLen bounds an error message about a file's contents (whatever the
// file holds, the CLI prints one short line).
const maxErrLen = 480

// cappedError is an error whose message was cut to maxErrLen bytes.
type cappedError struct {
	msg string
	err error
}

func (e *cappedError) Error() string { return e.msg }
func (e *cappedError) Unwrap() error { return e.err }

// capErr returns err with its message cut to one line of maxErrLen bytes.
func capErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if len(msg) <= maxErrLen && !strings.ContainsAny(msg, "\n\r") {
		return err
	}
	return &cappedError{msg: oneLine(msg, maxErrLen), err: err}
}
