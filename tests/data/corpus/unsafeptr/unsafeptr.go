// Package unsafeptr demonstrates escapes through unsafe.Pointer and uintptr.
package unsafeptr

import "unsafe"

var keep unsafe.Pointer

// KeepsUintptr is marked //go:uintptrescapes: its uintptr arguments that came
// from unsafe.Pointer conversions escape (marking p as escaping uintptr).
//
//go:uintptrescapes
//go:noinline
func KeepsUintptr(p uintptr) uintptr {
	return p + 1
}

// PassesUintptr: cause unsafe (note //go:uintptrescapes).
func PassesUintptr() uintptr {
	x := 1
	return KeepsUintptr(uintptr(unsafe.Pointer(&x)))
}

// StoresUnsafePointer: cause global (through an unsafe.Pointer conversion).
func StoresUnsafePointer() {
	x := 2
	keep = unsafe.Pointer(&x)
}

// PointerArithmetic: cause returned (unsafe.Pointer(uintptr(p)+off) keeps p alive).
func PointerArithmetic() *int {
	a := [2]int{1, 2}
	return (*int)(unsafe.Pointer(uintptr(unsafe.Pointer(&a[0])) + unsafe.Sizeof(a[0])))
}

// SliceFromPointer: cause returned (unsafe.Slice over a local array).
func SliceFromPointer() []byte {
	var b [8]byte
	return unsafe.Slice(&b[0], len(b))
}
