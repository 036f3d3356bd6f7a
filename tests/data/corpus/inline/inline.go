// Package inline demonstrates allocations reported at inlined call sites.
package inline

import "bytes"

// Box is allocated by newBox.
type Box struct{ V int }

var sink *Box
var bufSink *bytes.Buffer

// newBox is inlinable: its &Box{} is reported at each call site below.
func newBox(v int) *Box {
	return &Box{V: v}
}

// FirstCaller: cause global (inlined &Box{} stored in a package-level variable).
func FirstCaller() {
	sink = newBox(1)
}

// SecondCaller: cause returned (inlined &Box{} returned).
func SecondCaller() *Box {
	return newBox(2)
}

// CrossPackageInline: cause global (bytes.NewBuffer inlined; its &bytes.Buffer{} escapes).
func CrossPackageInline() {
	bufSink = bytes.NewBuffer(nil)
}
