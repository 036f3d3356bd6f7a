// Package textenc has non-ASCII text before an escape on the same line, and a generated file.
package textenc

// Label is a linked list of strings.
type Label struct {
	Text string
	Next *Label
}

// NonASCIIBeforeEscape: cause returned; the inner &Label{} comes after
// multi-byte characters ("é", "→", "ö") on its line, so its column (a byte
// offset) is larger than its rune offset.
func NonASCIIBeforeEscape() *Label {
	return &Label{Text: "héllo → wörld", Next: &Label{Text: "ß"}}
}
