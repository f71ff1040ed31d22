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

package controller

import (
	"reflect"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aipm-io/aipm-operator/internal/apply"
)

// pending remembers, per product, the objects the operator created or
// deleted until its cache shows the change, so that the next reconcile,
// often woken by another of its writes before the cache has caught up,
// neither creates an object again (a refused create, then an apply of what
// is already there) nor deletes one twice. A change the cache has not
// shown within pendingFor is forgotten: the cache is then taken as it is.
type pending struct {
	mu        sync.Mutex
	products  map[types.NamespacedName]*pendingChanges
	lastSweep time.Time
}

// pendingChanges are one product's: the created objects as the API server
// answered them, and the UIDs of the deleted ones.
type pendingChanges struct {
	created map[pendingKey]pendingObject
	deleted map[deletedKey]time.Time
}

type pendingKey struct {
	kind reflect.Type
	name string
}

type deletedKey struct {
	kind reflect.Type
	uid  types.UID
}

type pendingObject struct {
	obj client.Object
	at  time.Time
}

const pendingFor = time.Minute

// note records what a sync of owner's objects of one kind did: have as
// the cache showed it, out the objects kept, as Sync returned them. An
// object in out but not in have was created, one owner controls in have
// but not in out was deleted.
func note[T client.Object](pd *pending, owner client.Object, have []T, out map[string]T, now time.Time) {
	product := client.ObjectKeyFromObject(owner)
	var zero T
	kind := reflect.TypeOf(zero)
	pd.mu.Lock()
	defer pd.mu.Unlock()
	pd.sweep(now)
	ch := pd.products[product]
	names := make(map[string]bool, len(have))
	for _, h := range have {
		names[h.GetName()] = true
		if _, kept := out[h.GetName()]; kept || !metav1.IsControlledBy(h, owner) {
			continue
		}
		ch = pd.changes(product, ch)
		if ch.deleted == nil {
			ch.deleted = map[deletedKey]time.Time{}
		}
		ch.deleted[deletedKey{kind, h.GetUID()}] = now
	}
	for name, o := range out {
		if names[name] || o.GetUID() == "" {
			continue
		}
		ch = pd.changes(product, ch)
		if ch.created == nil {
			ch.created = map[pendingKey]pendingObject{}
		}
		ch.created[pendingKey{kind, name}] = pendingObject{obj: skeleton(o), at: now}
	}
}

// skeleton is what a sync reads of an object it did not list: who it is,
// who controls it, the hash of what was applied and the generation, with
// no spec and no status (a Deployment just created has none available).
// Kept for a fleet's worth of creates at once, a whole object each would
// weigh on the operator's memory.
func skeleton[T client.Object](o T) T {
	t := reflect.New(reflect.TypeOf(o).Elem()).Interface().(T)
	t.SetNamespace(o.GetNamespace())
	t.SetName(o.GetName())
	t.SetUID(o.GetUID())
	t.SetResourceVersion(o.GetResourceVersion())
	t.SetGeneration(o.GetGeneration())
	t.SetLabels(o.GetLabels())
	t.SetOwnerReferences(o.GetOwnerReferences())
	if h, ok := o.GetAnnotations()[apply.AnnotationHash]; ok {
		t.SetAnnotations(map[string]string{apply.AnnotationHash: h})
	}
	return t
}

func (pd *pending) changes(product types.NamespacedName, ch *pendingChanges) *pendingChanges {
	if ch != nil {
		return ch
	}
	if pd.products == nil {
		pd.products = map[types.NamespacedName]*pendingChanges{}
	}
	ch = &pendingChanges{}
	pd.products[product] = ch
	return ch
}

// sweep forgets, at most once every pendingFor, what has waited longer:
// the changes of a product no reconcile came back to.
func (pd *pending) sweep(now time.Time) {
	if now.Sub(pd.lastSweep) < pendingFor {
		return
	}
	pd.lastSweep = now
	for product, ch := range pd.products {
		ch.expire(now)
		if len(ch.created) == 0 && len(ch.deleted) == 0 {
			delete(pd.products, product)
		}
	}
}

func (ch *pendingChanges) expire(now time.Time) {
	for k, c := range ch.created {
		if now.Sub(c.at) >= pendingFor {
			delete(ch.created, k)
		}
	}
	for k, at := range ch.deleted {
		if now.Sub(at) >= pendingFor {
			delete(ch.deleted, k)
		}
	}
}

// overlay returns have, product's objects of one kind read from the
// cache, with the objects created since that it does not show yet added
// and those deleted since that it still shows left out. A created object
// the cache shows, or a deleted one it no longer shows, is forgotten.
func overlay[T client.Object](pd *pending, product types.NamespacedName, have []T, now time.Time) []T {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	ch := pd.products[product]
	if ch == nil {
		return have
	}
	ch.expire(now)
	var zero T
	kind := reflect.TypeOf(zero)
	out := make([]T, 0, len(have))
	seen := make(map[string]bool, len(have))
	shown := map[deletedKey]bool{}
	for _, h := range have {
		seen[h.GetName()] = true
		delete(ch.created, pendingKey{kind, h.GetName()})
		if _, ok := ch.deleted[deletedKey{kind, h.GetUID()}]; ok {
			shown[deletedKey{kind, h.GetUID()}] = true
			continue
		}
		out = append(out, h)
	}
	for k, c := range ch.created {
		if k.kind != kind || seen[k.name] {
			continue
		}
		if t, ok := c.obj.(T); ok {
			out = append(out, t)
		}
	}
	for k := range ch.deleted {
		if k.kind == kind && !shown[k] {
			delete(ch.deleted, k)
		}
	}
	if len(ch.created) == 0 && len(ch.deleted) == 0 {
		delete(pd.products, product)
	}
	return out
}
