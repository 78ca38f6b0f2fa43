package storage

import "testing"

type clockItem struct {
	name  string
	clock clockSlot
}

func (c *clockItem) clockSlot() *clockSlot { return &c.clock }

func TestClockRing(t *testing.T) {
	var r clockRing[*clockItem]
	a, b, c := &clockItem{"a", newClockSlot()}, &clockItem{"b", newClockSlot()}, &clockItem{"c", newClockSlot()}
	for _, it := range []*clockItem{a, b, c, a} { // a twice: added once
		r.add(it)
	}
	if r.len() != 3 {
		t.Fatalf("len %d", r.len())
	}
	// b was used: it gets a second chance; a is kept; c goes first.
	b.clock.touch()
	if v, ok := r.victim(a); !ok || v != c {
		t.Fatalf("victim %v, want c", v)
	}
	r.remove(c)
	if r.len() != 2 || c.clock.pos != -1 {
		t.Fatalf("remove: len %d pos %d", r.len(), c.clock.pos)
	}
	// b's second chance is spent now, a is still kept.
	if v, ok := r.victim(a); !ok || v != b {
		t.Fatalf("victim %v, want b", v)
	}
	r.remove(a)
	if r.items[b.clock.pos] != b {
		t.Fatal("positions not kept after a removal")
	}
	if _, ok := r.victim(b); ok {
		t.Fatal("a victim found when only the kept element is left")
	}
	r.remove(a) // absent: no-op
	if r.len() != 1 {
		t.Fatalf("len %d", r.len())
	}
}
