package withtest

import "testing"

var testSink *int

// TestMake: cause global (escape only visible to go test).
func TestMake(t *testing.T) {
	x := 1
	testSink = &x
	if Make()[0] != 1 {
		t.Fatal("bad")
	}
}
