// Package generic demonstrates escapes in generic code (shaped bodies, dictionary wrappers).
package generic

// PtrTo: cause returned (moved to heap: v, reported for each shape).
//
//go:noinline
func PtrTo[T any](v T) *T {
	return &v
}

// UsesPtrToInt instantiates PtrTo with int.
func UsesPtrToInt() *int {
	return PtrTo(1)
}

// UsesPtrToString instantiates PtrTo with string.
func UsesPtrToString() *string {
	return PtrTo("s")
}

// List is a generic linked list.
type List[T any] struct {
	head *node[T]
}

type node[T any] struct {
	v    T
	next *node[T]
}

// Push: cause stored-in-heap (&node{} stored in a field through the pointer receiver).
func (l *List[T]) Push(v T) {
	l.head = &node[T]{v: v, next: l.head}
}

// NewStringList: cause returned (&List{} returned), instantiates List[string].
func NewStringList() *List[string] {
	l := &List[string]{}
	l.Push("a")
	return l
}
