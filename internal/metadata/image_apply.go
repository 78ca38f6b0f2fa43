package metadata

// NewImage returns an empty image: no cluster id, brokers or topics.
func NewImage() *Image { return emptyImage() }

// Apply returns the image with recs applied in order, or the error of the
// first record that does not apply; img itself is never changed. It is the
// store's own apply function, exported so that the controller's decisions
// can be tested against images built from records, and so that a caller
// can check what a batch would do before proposing it.
func (img *Image) Apply(recs ...Record) (*Image, error) {
	out := img
	for _, r := range recs {
		next, err := apply(out, r)
		if err != nil {
			return nil, err
		}
		out = next
	}
	return out, nil
}
