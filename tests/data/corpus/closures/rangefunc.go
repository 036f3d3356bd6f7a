//go:build go1.23

// This file needs range-over-func (language version 1.23), so it is only
// compiled by Go 1.23+ toolchains; its //go:build line upgrades the file's
// language version above the module's go 1.21.

package closures

var seqSink *int

func each(yield func(int) bool) {
	for i := 0; i < 3; i++ {
		if !yield(i) {
			return
		}
	}
}

// RangeOverFunc: cause global (&v stored in a package-level variable from the
// loop body, which is the closure RangeOverFunc-range1).
func RangeOverFunc() {
	for v := range each {
		seqSink = &v
	}
}
