// Package flows covers the remaining flow reasons that decide a cause:
// the map-put key, appended/copied slices, map literals, and assignments from
// a type assertion. (Values read from a map or received from a channel are
// already heap contents, so "assign-pair-mapr"/"assign-pair-receive" never
// end up on an escape path here.)
package flows

var sink any

// KeyOfMapPut: cause stored-in-heap (note "key of map put": a pointer used as a map key).
func KeyOfMapPut(m map[*int]bool) {
	x := 1
	m[&x] = true
}

// AppendsSpread: cause stored-in-heap (note "appended slice...": leaking param content: xs).
func AppendsSpread(dst []*int, xs []*int) []*int {
	return append(dst, xs...)
}

// CopiesSlice: cause stored-in-heap (note "copied slice": leaking param content: src).
func CopiesSlice(dst, src []*int) int {
	return copy(dst, src)
}

// MapLiteralValue: cause stored-in-heap (note "map literal value": &x stored in a map literal).
func MapLiteralValue() int {
	x := 2
	m := map[string]*int{"x": &x}
	return len(m)
}

// AssignFromTypeAssertion: cause global; the parameter's path has the
// "assign-pair-dot-type" note, then "array literal element" and "interface-converted".
func AssignFromTypeAssertion(v any) {
	if p, ok := v.(*int); ok {
		sink = [1]*int{p}
	}
}
