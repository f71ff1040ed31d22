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

// Package apply writes the objects the operator owns with server-side apply
// under one field manager.
//
// Server-side apply lets the operator state only the fields it cares about:
// fields another manager set (an autoscaler's replicas, a mesh's annotation)
// are left to that manager instead of being reset on every reconcile, as a
// read-modify-write Update would. To avoid a write per reconcile the operator
// stamps each desired object with a hash of what it asks for and only applies
// when that hash differs from the one on the live object: the live object
// itself cannot be compared field by field, because the API server defaults
// fields and other managers add their own.
package apply

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// FieldOwner is the field manager of every apply, so that the API server
// attributes all the operator's fields to one owner and an apply that drops a
// field removes it, whichever code path applied it before.
const FieldOwner = "aipm-operator"

// AnnotationHash is the annotation holding a hash of what the operator last
// applied. It lives on the object itself so that a restarted operator, or a
// reconcile from a cache, still knows whether the live object is current.
const AnnotationHash = "lifecycle.aipm.io/spec-hash"

// skipped are the top-level fields that are not the object's desired state:
// metadata is hashed only through its labels and annotations, status is
// written by controllers, and apiVersion/kind are absent on typed objects
// read from a cache.
var skipped = map[string]bool{"metadata": true, "status": true, "apiVersion": true, "kind": true}

// Stamp stores in AnnotationHash a hash of obj's labels, its annotations
// other than AnnotationHash, and its top-level fields other than metadata,
// status, apiVersion and kind. Stamp each desired object once it is complete
// and before Sync, which skips an object whose stamp matches the live one.
// Owner references are not hashed: Sync checks the live object's controller
// itself.
func Stamp(obj client.Object) error {
	annotations := maps.Clone(obj.GetAnnotations())
	delete(annotations, AnnotationHash)
	b, err := desired(obj, annotations)
	if err != nil {
		return fmt.Errorf("hashing %T %s: %w", obj, obj.GetName(), err)
	}
	sum := sha256.Sum256(b)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationHash] = hex.EncodeToString(sum[:16])
	obj.SetAnnotations(annotations)
	return nil
}

// desired encodes what Stamp hashes. A typed object is encoded field by
// field in place: its labels and annotations, then each top-level field
// but TypeMeta, ObjectMeta and Status, through a pointer so that nothing
// is copied. encoding/json writes a struct's fields in a fixed order and a
// map's keys sorted, so equal content gives equal bytes. Every reconcile
// stamps its whole plan; going through an unstructured map, or a deep copy
// with the metadata cut, was the largest share of the operator's
// allocations (docs/benchmarks.md).
func desired(obj client.Object, annotations map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	meta := struct {
		Labels      map[string]string `json:"labels,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}{obj.GetLabels(), annotations}
	if err := enc.Encode(meta); err != nil {
		return nil, err
	}
	v := reflect.ValueOf(obj)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct &&
		v.Elem().FieldByName("ObjectMeta").IsValid() && v.Elem().FieldByName("ObjectMeta").Type() == reflect.TypeFor[metav1.ObjectMeta]() {
		v = v.Elem()
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Name == "TypeMeta" || f.Name == "ObjectMeta" || f.Name == "Status" {
				continue
			}
			buf.WriteString(f.Name)
			if err := enc.Encode(v.Field(i).Addr().Interface()); err != nil {
				return nil, err
			}
		}
		return buf.Bytes(), nil
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	fields := map[string]any{}
	for k, v := range u {
		if !skipped[k] {
			fields[k] = v
		}
	}
	if err := enc.Encode(fields); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Hash is the hash Stamp stored on obj, or "" if it has none. On a live
// object it is the hash of what the operator last applied, not of the object
// as it is now.
func Hash(obj metav1.Object) string {
	h, _ := strings.CutSuffix(obj.GetAnnotations()[AnnotationHash], createdMark)
	return h
}

// createdMark follows the hash on an object createOne made, until its
// first apply: its fields are then still recorded under FieldOwner's Update
// entry, which that apply must first turn into the Apply entry (see
// applyOne). The mark lives in the annotation because the cache drops
// managedFields, and the apply that follows the turn replaces it.
const createdMark = ".created"

// created reports whether live was made by createOne and never applied.
func created(live metav1.Object) bool {
	return strings.HasSuffix(live.GetAnnotations()[AnnotationHash], createdMark)
}

// Sync makes the owner's objects of one kind match want, and returns the live
// objects by name.
//
// An object in want that is not in have is created under FieldOwner, by a
// create unless CreateByApply names it. One
// that is in have is applied, with FieldOwner and forced ownership, unless
// the live object is controlled by owner and carries the same Hash; the
// result then holds the have object, otherwise the API server's answer to
// the write. Forcing is safe because only the fields in
// want are sent: fields that only other managers set are never touched.
// An object in have that is not in want and is controlled by owner is
// deleted; anything else in have is left alone.
//
// Each object in want must carry owner's controller reference (so that it is
// garbage collected with owner and found again by the delete step) and have
// been Stamped; Sync returns an error otherwise. API errors, a Conflict among
// them, are wrapped with %w so callers can test them with apierrors.
func Sync[T client.Object](ctx context.Context, c client.Client, owner client.Object, want []T, have []T, opts ...Option) (map[string]T, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	live := make(map[string]T, len(have))
	for _, h := range have {
		live[h.GetName()] = h
	}
	out := make(map[string]T, len(want))
	for _, w := range want {
		name := w.GetName()
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s %s: named twice in the plan", kindOf(c, w), name)
		}
		if Hash(w) == "" {
			return nil, fmt.Errorf("%s %s: not stamped (call apply.Stamp)", kindOf(c, w), name)
		}
		if !metav1.IsControlledBy(w, owner) {
			return nil, fmt.Errorf("%s %s: not controlled by %s (call controllerutil.SetControllerReference)", kindOf(c, w), name, owner.GetName())
		}
		if h, ok := live[name]; ok && Hash(h) == Hash(w) && metav1.IsControlledBy(h, owner) {
			out[name] = h
			continue
		}
		var got T
		var err error
		switch h, ok := live[name]; {
		case ok:
			got, err = applyOne(ctx, c, w, created(h))
		case o.applyCreates[name]:
			got, err = applyOne(ctx, c, w, false)
		default:
			got, err = createOne(ctx, c, w)
		}
		if err != nil {
			return nil, err
		}
		out[name] = got
	}
	for _, h := range have {
		if _, kept := out[h.GetName()]; kept || !metav1.IsControlledBy(h, owner) {
			continue
		}
		// The UID precondition keeps a stale have from deleting an object
		// recreated under the same name since it was read.
		uid := h.GetUID()
		if err := c.Delete(ctx, h, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("deleting %s %s: %w", kindOf(c, h), h.GetName(), err)
		}
	}
	return out, nil
}

// Option changes how Sync writes.
type Option func(*options)

type options struct {
	applyCreates map[string]bool
}

// CreateByApply has Sync create the named objects with an apply rather
// than a create. For an object that changes soon after it is made, such
// as a canary's Deployment, scaled at every step: an apply costs the API
// server more than a create, but the create's first change costs a second
// write (see applyOne), and an applied object's changes never do.
func CreateByApply(names ...string) Option {
	return func(o *options) {
		if o.applyCreates == nil {
			o.applyCreates = map[string]bool{}
		}
		for _, n := range names {
			o.applyCreates[n] = true
		}
	}
}

// createOne creates obj under FieldOwner, and falls back to applyOne if it
// exists after all (a have read from a cache that had not seen it yet).
// A create costs the API server much less than an apply that creates
// (docs/benchmarks.md), and a fleet's first reconciles are mostly creates.
// Its fields are recorded under an Update entry of FieldOwner, which
// applyOne turns into the Apply entry on the object's first change; the
// hash carries createdMark until then.
func createOne[T client.Object](ctx context.Context, c client.Client, obj T) (T, error) {
	var zero T
	sent, gvk, err := prepare(c, obj)
	if err != nil {
		return zero, err
	}
	annotations := maps.Clone(sent.GetAnnotations())
	annotations[AnnotationHash] += createdMark
	sent.SetAnnotations(annotations)
	err = c.Create(ctx, sent, client.FieldOwner(FieldOwner))
	if apierrors.IsAlreadyExists(err) {
		return applyOne(ctx, c, obj, false)
	}
	if err != nil {
		return zero, fmt.Errorf("creating %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	return sent, nil
}

// prepare returns the copy of obj to send: typed, and without what the
// server manages. A resourceVersion would turn an apply into a conditional
// write, and managedFields would be taken as a request to rewrite field
// ownership.
func prepare[T client.Object](c client.Client, obj T) (T, schema.GroupVersionKind, error) {
	var zero T
	gvk, err := apiutil.GVKForObject(obj, c.Scheme())
	if err != nil {
		return zero, gvk, fmt.Errorf("writing %T %s: %w", obj, obj.GetName(), err)
	}
	sent, ok := obj.DeepCopyObject().(T)
	if !ok {
		return zero, gvk, errors.New("bug: a copy of a T is not a T")
	}
	sent.SetResourceVersion("")
	sent.SetManagedFields(nil)
	sent.SetCreationTimestamp(metav1.Time{})
	clearStatus(sent)
	// A typed object read from a cache has no type; the write needs one.
	sent.GetObjectKind().SetGroupVersionKind(gvk)
	return sent, gvk, nil
}

// applyOne sends obj as an apply patch and returns the API server's answer,
// decoded into a copy of obj. The typed object is encoded as itself and
// the answer decoded straight into it: going through an unstructured map
// both ways cost four conversions per apply, a large share of the
// operator's allocations while a fleet converges (docs/benchmarks.md).
//
// fresh says the live object was made by createOne and never applied
// since: its fields are owned by FieldOwner's Update entry, and a field
// this apply drops would be kept by that entry. The entry is turned into
// the Apply entry first, in one JSON patch that tests it is the one the
// create made, so that this apply alone removes what it drops.
func applyOne[T client.Object](ctx context.Context, c client.Client, obj T, fresh bool) (T, error) {
	var zero T
	sent, gvk, err := prepare(c, obj)
	if err != nil {
		return zero, err
	}
	if fresh {
		err := c.Patch(ctx, sent, client.RawPatch(types.JSONPatchType, turnCreateEntry))
		if err != nil && !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
			return zero, fmt.Errorf("applying %s %s: turning its create's fields into the apply entry: %w", gvk.Kind, obj.GetName(), err)
		}
		// A failed test leaves the object as it was: the apply below sees
		// the Update entry in its answer and upgrades as for any other.
		if sent, _, err = prepare(c, obj); err != nil {
			return zero, err
		}
	}
	body, err := json.Marshal(sent)
	if err != nil {
		return zero, fmt.Errorf("applying %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	apply := func() error {
		if err := c.Patch(ctx, sent, client.RawPatch(types.ApplyPatchType, body), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s: %w", gvk.Kind, obj.GetName(), err)
		}
		return nil
	}
	if err := apply(); err != nil {
		return zero, err
	}
	if !createdByUpdate(sent) {
		return sent, nil
	}
	// The object was made by createOne: the fields it set are still owned
	// by FieldOwner's Update entry too, so a field this apply dropped was
	// kept. Fold that entry into the Apply entry (the upgrade client-go
	// offers for objects once written client-side) and apply again, which
	// now removes what no manager owns.
	upgrade, err := csaupgrade.UpgradeManagedFieldsPatch(sent, sets.New(FieldOwner), FieldOwner)
	if err != nil {
		return zero, fmt.Errorf("applying %s %s: moving its fields to the apply entry: %w", gvk.Kind, obj.GetName(), err)
	}
	if err := c.Patch(ctx, sent, client.RawPatch(types.JSONPatchType, upgrade)); err != nil {
		return zero, fmt.Errorf("applying %s %s: moving its fields to the apply entry: %w", gvk.Kind, obj.GetName(), err)
	}
	if err := apply(); err != nil {
		return zero, err
	}
	return sent, nil
}

// turnCreateEntry makes the managedFields entry of a create by createOne
// an Apply entry of the same manager, the upgrade csaupgrade would make.
// The API server sorts Apply entries before Update entries and Update
// entries by time, so a create's entry is the first while no apply has
// touched the object; the tests refuse the patch otherwise.
var turnCreateEntry = []byte(`[` +
	`{"op":"test","path":"/metadata/managedFields/0/manager","value":"` + FieldOwner + `"},` +
	`{"op":"test","path":"/metadata/managedFields/0/operation","value":"Update"},` +
	`{"op":"replace","path":"/metadata/managedFields/0/operation","value":"Apply"}]`)

// createdByUpdate reports whether obj's managedFields still hold an Update
// entry of FieldOwner for the object itself (not a subresource).
func createdByUpdate(obj client.Object) bool {
	for _, m := range obj.GetManagedFields() {
		if m.Manager == FieldOwner && m.Operation == metav1.ManagedFieldsOperationUpdate && m.Subresource == "" {
			return true
		}
	}
	return false
}

// clearStatus empties obj's status, which an apply to the object itself
// must not carry: it belongs to the object's controller and its own
// subresource.
func clearStatus(obj client.Object) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		delete(u.Object, "status")
		return
	}
	if v := reflect.ValueOf(obj); v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		if f := v.Elem().FieldByName("Status"); f.IsValid() && f.CanSet() {
			f.SetZero()
		}
	}
}

// kindOf names obj's kind for an error message, falling back to its Go type.
func kindOf(c client.Client, obj client.Object) string {
	if gvk, err := apiutil.GVKForObject(obj, c.Scheme()); err == nil {
		return gvk.Kind
	}
	return fmt.Sprintf("%T", obj)
}
