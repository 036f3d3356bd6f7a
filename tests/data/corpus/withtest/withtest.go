// Package withtest has a _test.go file with an escape (collected with go test -c).
package withtest

// Make: cause returned.
func Make() *[4]int {
	return &[4]int{1, 2, 3, 4}
}
