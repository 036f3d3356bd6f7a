//go:build special

package tagged

// OnlyWithSpecialTag: cause returned (built only with -tags special).
func OnlyWithSpecialTag() *int {
	y := 2
	return &y
}
