// Package tagged has one file only built with -tags special.
package tagged

var sink *int

// Always: cause global (built without tags).
func Always() {
	x := 1
	sink = &x
}
