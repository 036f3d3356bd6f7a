// Package sizes demonstrates size-related escapes and values that outlive their scope.
package sizes

// TooLargeArray: cause too-large from Go 1.24 (explicit variables above 128 KiB);
// no escape in 1.21/1.22, whose limit was 10 MiB.
func TooLargeArray() byte {
	var b [1 << 20]byte
	b[0] = 1
	return b[len(b)-1]
}

// TooLargeArrayHuge: cause too-large in every version (16 MiB is above the
// 10 MiB explicit-variable limit of Go <= 1.23 as well as the 128 KiB one of 1.24+).
func TooLargeArrayHuge() byte {
	var b [16 << 20]byte
	b[1] = 1
	return b[len(b)-1]
}

// TooLargeNew: cause too-large (new([10000]int) escapes on amd64).
func TooLargeNew() int {
	p := new([10000]int)
	return p[0]
}

// TooLargeMake: cause too-large (make with a large constant size).
func TooLargeMake() byte {
	s := make([]byte, 1<<20)
	return s[0]
}

// NonConstantMake: cause unknown-size (make([]byte, n): non-constant size
// up to 1.24, zero-sized element / no escape from 1.25).
func NonConstantMake(n int) byte {
	s := make([]byte, n)
	return s[0]
}

// MakeZeroSized: cause unknown-size (zero-sized element from 1.25; non-constant size up to 1.24).
func MakeZeroSized(n int) int {
	s := make([]struct{}, n)
	return len(s)
}

// OutlivesLoopScope: cause outlives-scope (x assigned to p, declared outside the loop).
func OutlivesLoopScope(n int) int {
	var p *int
	for i := 0; i < n; i++ {
		x := i
		p = &x
	}
	if p == nil {
		return 0
	}
	return *p
}

// ZeroCopyConversion: no escape; Go 1.22+ adds "zero-copy string->[]byte conversion"
// (not an escape: the parser must skip it).
func ZeroCopyConversion(s string) int {
	n := 0
	for _, c := range []byte(s) {
		n += int(c)
	}
	return n
}
