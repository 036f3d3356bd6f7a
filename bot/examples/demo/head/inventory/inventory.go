// Package inventory is escape-bot's demo module: the head revision.
//
// Compared with the base it adds a few lines at the top (every line below moves, and
// escape-bot must not care) and five functions that each move a value to the heap.
package inventory

import (
	"fmt"
	"strings"
)

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

// Newest returns a pointer to a fresh item: it outlives the call.
func Newest(sku string) *Item {
	it := Item{SKU: sku}
	return &it
}

// Counter returns a closure that keeps its count between calls.
func Counter() func() int {
	n := 0
	return func() int {
		n++
		return n
	}
}

// Announce prints an item: fmt.Println takes interfaces.
func Announce(count int) {
	fmt.Println("restocked", count)
}

// Index stores pointers to items in a slice that the caller keeps.
func Index(items []Item, index []*Item) {
	for i := range items {
		local := items[i]
		index[i] = &local
	}
}

// Publish sends a new item to a worker.
func Publish(ch chan<- *Item, sku string) {
	ch <- &Item{SKU: sku}
}
