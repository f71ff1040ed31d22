/*
Copyright 2026 The aipm-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package compact makes the objects the operator caches share what they
// have in common. A fleet's products and versions are written from a few
// templates, and the operator writes the same condition reasons and
// messages into each; decoded from JSON, every object still holds its own
// copy of each string and of each map of labels or series labels. Held
// once, the copies cost a fleet nothing per object (docs/benchmarks.md).
package compact

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"unique"
)

// Object replaces, in place, each string reachable from obj through
// exported fields with the one canonical copy of its value, and each map of
// strings to strings with a shared map of the same entries.
//
// Shared maps must not be changed: Object is for objects no one writes to,
// such as the cache's, which hands out deep copies.
func Object(obj any) {
	walk(reflect.ValueOf(obj))
}

func walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				walk(f)
			}
		}
	case reflect.Slice:
		if v.Cap() > v.Len() && v.CanSet() {
			// Decoding grows a slice by doubling it: a list of five
			// conditions holds room for eight.
			c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			reflect.Copy(c, v)
			v.Set(c)
		}
		fallthrough
	case reflect.Array:
		if !holdsReferences(v.Type().Elem()) {
			return
		}
		for i := range v.Len() {
			walk(v.Index(i))
		}
	case reflect.String:
		if v.Len() > 0 {
			v.SetString(unique.Make(v.String()).Value())
		}
	case reflect.Map:
		t := v.Type()
		if v.IsNil() || t.Key().Kind() != reflect.String || t.Elem().Kind() != reflect.String {
			return
		}
		m := make(map[string]string, v.Len())
		for it := v.MapRange(); it.Next(); {
			m[it.Key().String()] = it.Value().String()
		}
		v.Set(reflect.ValueOf(shared(m)).Convert(t))
	}
}

// holdsReferences reports whether values of t may hold a string or a map:
// slices of numbers ([]byte above all) are left as they are.
func holdsReferences(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	}
	return true
}

// maxMaps bounds the shared maps remembered. Past it they are forgotten
// all at once: maps shared until then stay shared, and sharing starts over.
const maxMaps = 8192

var pool = struct {
	sync.Mutex
	maps map[string]map[string]string
}{maps: map[string]map[string]string{}}

// shared returns the remembered map with m's entries, or remembers m, with
// canonical strings, and returns it.
func shared(m map[string]string) map[string]string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(m[k])
		b.WriteByte(0)
	}
	id := b.String()

	pool.Lock()
	defer pool.Unlock()
	if s, ok := pool.maps[id]; ok {
		return s
	}
	if len(pool.maps) >= maxMaps {
		clear(pool.maps)
	}
	for _, k := range keys {
		v := m[k]
		delete(m, k)
		m[unique.Make(k).Value()] = unique.Make(v).Value()
	}
	pool.maps[id] = m
	return m
}
