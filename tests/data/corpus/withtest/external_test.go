package withtest_test

import (
	"testing"

	"example.com/corpus/withtest"
)

// TestExternal: cause interface-conversion (t.Log argument), in the external test package.
func TestExternal(t *testing.T) {
	p := withtest.Make()
	t.Log(p[1])
}
