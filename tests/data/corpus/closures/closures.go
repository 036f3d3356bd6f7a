// Package closures demonstrates nested closures and a closure inside init.
package closures

var handlers []func() int

var counter *int

// init: cause stored-in-heap (func literal appended to a package-level slice; the
// last note is "call parameter" at append(...)). Headers name it init.0.
func init() {
	n := 0
	handlers = append(handlers, func() int {
		n++
		return n
	})
}

// NestedClosures: cause closure-capture (x captured by the inner closure F.func1.1 that is returned).
func NestedClosures() func() func() int {
	x := 0
	return func() func() int {
		return func() int {
			x++
			return x
		}
	}
}

// ClosureStoresGlobal: cause global (closure called in place stores &y in a package-level variable).
func ClosureStoresGlobal() {
	y := 1
	func() {
		counter = &y
	}()
}

// ClosureByValue: cause stored-in-heap (closure capturing k by value, appended to a
// package-level slice; last note "call parameter" at append(...)).
func ClosureByValue(k int) {
	handlers = append(handlers, func() int { return k })
}
