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

// Package statuswrite updates the status subresource of an object and reads
// back only the object's new metadata.
//
// controller-runtime's client decodes the whole object the API server
// returns from a write into the object written: a whole product's JSON
// decoded into a typed object that nothing reads after the write, a
// measurable share of the operator's CPU while a fleet converges
// (docs/benchmarks.md). The API
// server, for its part, encodes the object whole to send it. Asked for the
// answer as PartialObjectMetadata, in protobuf (as metadata-only informers
// ask for custom resources), the API server sends only metadata and the
// operator decodes only that (docs/benchmarks.md).
package statuswrite

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metainternalversionscheme "k8s.io/apimachinery/pkg/apis/meta/internalversion/scheme"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Writer writes the status of an object.
type Writer interface {
	// Update replaces the status of obj as the API server holds it with
	// obj's, under obj's resourceVersion: a Conflict if the object changed
	// since it was read. On success obj carries the new resourceVersion;
	// the rest of obj is what was sent.
	Update(ctx context.Context, obj client.Object) error
}

// Client writes status through a controller-runtime client, decoding the
// whole object returned into obj: for fake clients in unit tests.
type Client struct{ client.Client }

// Update implements Writer.
func (c Client) Update(ctx context.Context, obj client.Object) error {
	return c.Status().Update(ctx, obj)
}

// acceptMetadata asks for the written object's metadata alone, in protobuf
// if the API server can, else JSON; an API server that cannot transform at
// all answers with the whole object in JSON, whose metadata decodes the same.
const acceptMetadata = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1," +
	"application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"

// Lean writes status with REST calls of its own. Each kind gets its own
// client and so its own token bucket of the configuration's QPS and burst,
// as each kind does in controller-runtime's client.
type Lean struct {
	cfg        *rest.Config
	httpClient *http.Client
	scheme     *runtime.Scheme
	mapper     meta.RESTMapper

	mu    sync.Mutex
	kinds map[schema.GroupVersionKind]*target
}

type target struct {
	rest       *rest.RESTClient
	resource   string
	namespaced bool
}

// New returns a Lean writer for the objects of scheme, speaking to the API
// server of cfg through httpClient (a manager's GetConfig, GetHTTPClient,
// GetScheme and GetRESTMapper).
func New(cfg *rest.Config, httpClient *http.Client, scheme *runtime.Scheme, mapper meta.RESTMapper) *Lean {
	return &Lean{cfg: cfg, httpClient: httpClient, scheme: scheme, mapper: mapper, kinds: map[schema.GroupVersionKind]*target{}}
}

// NewForConfig is New with an HTTP client and a REST mapper of its own,
// for callers without a manager.
func NewForConfig(cfg *rest.Config, scheme *runtime.Scheme) (*Lean, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, hc)
	if err != nil {
		return nil, err
	}
	return New(cfg, hc, scheme, mapper), nil
}

// Update implements Writer.
func (l *Lean) Update(ctx context.Context, obj client.Object) error {
	return l.update(ctx, obj, "")
}

// As returns a Writer that writes as the field manager named manager, so
// that an object's managedFields name the controller that wrote its
// status; w is a Lean, or a Client for unit tests.
func As(w Writer, manager string) Writer {
	switch w := w.(type) {
	case *Lean:
		return leanAs{l: w, manager: manager}
	case Client:
		return clientAs{c: w.Client, manager: manager}
	}
	return w
}

type leanAs struct {
	l       *Lean
	manager string
}

func (w leanAs) Update(ctx context.Context, obj client.Object) error {
	return w.l.update(ctx, obj, w.manager)
}

type clientAs struct {
	c       client.Client
	manager string
}

func (w clientAs) Update(ctx context.Context, obj client.Object) error {
	return w.c.Status().Update(ctx, obj, client.FieldOwner(w.manager))
}

func (l *Lean) update(ctx context.Context, obj client.Object, manager string) error {
	gvk, err := apiutil.GVKForObject(obj, l.scheme)
	if err != nil {
		return err
	}
	t, err := l.target(gvk)
	if err != nil {
		return err
	}
	body, err := encode(obj, gvk)
	if err != nil {
		return err
	}
	req := t.rest.Put().Resource(t.resource).Name(obj.GetName()).SubResource("status").
		SetHeader("Accept", acceptMetadata).SetHeader("Content-Type", runtime.ContentTypeJSON).Body(body)
	if t.namespaced {
		req = req.Namespace(obj.GetNamespace())
	}
	if manager != "" {
		req = req.Param("fieldManager", manager)
	}
	result := req.Do(ctx)
	if err := result.Error(); err != nil {
		return err
	}
	written, err := result.Get()
	if runtime.IsNotRegisteredError(err) {
		// The whole object, from an API server that could not transform it.
		raw, rawErr := result.Raw()
		if rawErr != nil {
			return rawErr
		}
		partial := &metav1.PartialObjectMetadata{}
		if err := json.Unmarshal(raw, partial); err != nil {
			return fmt.Errorf("decoding the metadata of %s %s: %w", gvk.Kind, obj.GetName(), err)
		}
		written, err = partial, nil
	}
	if err != nil {
		return fmt.Errorf("decoding the metadata of %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	m, err := meta.Accessor(written)
	if err != nil {
		return fmt.Errorf("reading the metadata of %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	if m.GetResourceVersion() == "" {
		return fmt.Errorf("the API server's answer to the status write of %s %s carries no resourceVersion", gvk.Kind, obj.GetName())
	}
	obj.SetResourceVersion(m.GetResourceVersion())
	return nil
}

// encode is obj as JSON, with the apiVersion and kind the API server
// requires, which objects read from a cache may lack.
func encode(obj client.Object, gvk schema.GroupVersionKind) ([]byte, error) {
	kind := obj.GetObjectKind()
	was := kind.GroupVersionKind()
	kind.SetGroupVersionKind(gvk)
	defer kind.SetGroupVersionKind(was)
	return json.Marshal(obj)
}

func (l *Lean) target(gvk schema.GroupVersionKind) (*target, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.kinds[gvk]; ok {
		return t, nil
	}
	mapping, err := l.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(l.cfg)
	gv := gvk.GroupVersion()
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	if gv.Group == "" {
		cfg.APIPath = "/api"
	}
	// Decodes what comes back: PartialObjectMetadata, and the Status of a
	// refused write.
	cfg.NegotiatedSerializer = metainternalversionscheme.Codecs.WithoutConversion()
	rc, err := rest.RESTClientForConfigAndClient(cfg, l.httpClient)
	if err != nil {
		return nil, err
	}
	t := &target{rest: rc, resource: mapping.Resource.Resource, namespaced: mapping.Scope.Name() == meta.RESTScopeNameNamespace}
	l.kinds[gvk] = t
	return t, nil
}
