package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Type is a config value's type, named as Kafka's DescribeConfigs reports it.
type Type int8

// Config types, numbered as in DescribeConfigs v3+ (ConfigType).
const (
	TypeBoolean  Type = 1
	TypeString   Type = 2
	TypeInt      Type = 3
	TypeShort    Type = 4
	TypeLong     Type = 5
	TypeDouble   Type = 6
	TypeList     Type = 7
	TypeClass    Type = 8
	TypePassword Type = 9
)

// ErrInvalid is wrapped by every validation error; handlers map it to
// INVALID_CONFIG.
var ErrInvalid = errors.New("invalid config")

// ErrUnknown means the name is not a config Strata knows.
var ErrUnknown = errors.New("unknown config")

// Def describes one config: its Kafka name, type, default and the check a
// value must pass.
type Def struct {
	Name    string
	Type    Type
	Default string // "" with HasDefault=false means null
	// NoDefault marks a config whose Kafka default is null.
	NoDefault bool
	// Min and Max bound numeric values (inclusive).
	Min, Max int64
	// OneOf lists the allowed values of an enumerated string.
	OneOf []string
	// Doc is a one-line description.
	Doc string
	// Dynamic marks broker configs that may be changed at runtime through
	// the admin APIs (cluster-wide default or per broker).
	Dynamic bool
	// Check is an extra validation beyond type, range and OneOf.
	Check func(v string) error
}

// Validate parses v according to the definition and checks its range.
func (d *Def) Validate(v string) error {
	switch d.Type {
	case TypeBoolean:
		if v != "true" && v != "false" {
			return fmt.Errorf("%w: %s must be true or false, got %q", ErrInvalid, d.Name, v)
		}
	case TypeInt, TypeShort, TypeLong:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: %s must be an integer, got %q", ErrInvalid, d.Name, v)
		}
		if n < d.Min || n > d.Max {
			return fmt.Errorf("%w: %s must be between %d and %d, got %d", ErrInvalid, d.Name, d.Min, d.Max, n)
		}
	case TypeDouble:
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("%w: %s must be a number, got %q", ErrInvalid, d.Name, v)
		}
	}
	if len(d.OneOf) > 0 {
		ok := false
		for _, allowed := range d.OneOf {
			if v == allowed {
				ok = true
				break
			}
		}
		if !ok {
			return fmt.Errorf("%w: %s must be one of %s, got %q", ErrInvalid, d.Name, strings.Join(d.OneOf, ", "), v)
		}
	}
	if d.Check != nil {
		if err := d.Check(v); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalid, d.Name, err)
		}
	}
	return nil
}

func intDef(name string, def, min, max int64, doc string) Def {
	return Def{Name: name, Type: TypeInt, Default: strconv.FormatInt(def, 10), Min: min, Max: max, Doc: doc}
}

func longDef(name string, def, min int64, doc string) Def {
	return Def{Name: name, Type: TypeLong, Default: strconv.FormatInt(def, 10), Min: min, Max: math.MaxInt64, Doc: doc}
}

// Set is a lookup table of definitions by name.
type Set map[string]*Def

func newSet(defs []Def) Set {
	s := make(Set, len(defs))
	for i := range defs {
		s[defs[i].Name] = &defs[i]
	}
	return s
}

// parseInt64 parses a value that has already passed Validate.
func parseInt64(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n
}
