// Package inventory is escape-bot's demo module: the base revision.
package inventory

import "strings"

// Item is a product on a shelf.
type Item struct {
	SKU   string
	Count int
}

// Total adds up the counts without allocating.
func Total(items []Item) int {
	n := 0
	for i := range items {
		n += items[i].Count
	}
	return n
}

// Find returns the index of sku, or -1.
func Find(items []Item, sku string) int {
	for i, it := range items {
		if strings.EqualFold(it.SKU, sku) {
			return i
		}
	}
	return -1
}

// Restock returns a larger copy of the shelf.
func Restock(items []Item, extra int) []Item {
	out := make([]Item, len(items), len(items)+extra)
	copy(out, items)
	return out
}
