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
// Package registry keeps a product's ModelVersions in step with a Kubeflow
// Model Registry: a client for the registry's REST API, and the plan of one
// sync, decided from what both sides hold. A sync keeps no state of its
// own: the registry's names (unique per registered model), the operator's
// external ids and the ModelVersions' deterministic names make each pass
// idempotent, so a pass cut short by an outage or a restart is finished by
// the next one, never doubled.
package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// apiPath is the registry's REST API, version v1alpha3.
const apiPath = "/api/model_registry/v1alpha3"

// Value is one custom property, as the registry types it.
type Value struct {
	MetadataType string   `json:"metadataType"`
	DoubleValue  *float64 `json:"double_value,omitempty"`
	StringValue  *string  `json:"string_value,omitempty"`
	// IntValue is a string on the wire: the registry's int64.
	IntValue  *string `json:"int_value,omitempty"`
	BoolValue *bool   `json:"bool_value,omitempty"`
}

// String is a string property.
func String(s string) Value { return Value{MetadataType: "MetadataStringValue", StringValue: &s} }

// Double is a double property.
func Double(f float64) Value { return Value{MetadataType: "MetadataDoubleValue", DoubleValue: &f} }

// Equal reports whether two properties hold the same value.
func (v Value) Equal(o Value) bool {
	a, _ := json.Marshal(v)
	b, _ := json.Marshal(o)
	return bytes.Equal(a, b)
}

// RegisteredModel is a model in the registry.
type RegisteredModel struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

// Version is a model version in the registry.
type Version struct {
	ID                string           `json:"id,omitempty"`
	Name              string           `json:"name,omitempty"`
	RegisteredModelID string           `json:"registeredModelId,omitempty"`
	ExternalID        string           `json:"externalId,omitempty"`
	Description       string           `json:"description,omitempty"`
	Author            string           `json:"author,omitempty"`
	State             string           `json:"state,omitempty"`
	CustomProperties  map[string]Value `json:"customProperties,omitempty"`
}

// Registry states of a version.
const (
	StateLive     = "LIVE"
	StateArchived = "ARCHIVED"
)

// Artifact is a model artifact of a version.
type Artifact struct {
	ID                 string `json:"id,omitempty"`
	ArtifactType       string `json:"artifactType"`
	Name               string `json:"name,omitempty"`
	URI                string `json:"uri,omitempty"`
	ModelFormatName    string `json:"modelFormatName,omitempty"`
	ModelFormatVersion string `json:"modelFormatVersion,omitempty"`
}

// ModelArtifact is the artifact type of a model.
const ModelArtifact = "model-artifact"

// ErrConflict is the registry's answer to a name that exists.
var ErrConflict = errors.New("conflict")

// ErrNotFound is the registry's answer to a name or id it does not hold.
var ErrNotFound = errors.New("not found")

// Client talks to one registry.
type Client struct {
	// URL is the registry's base URL, without the API path.
	URL string
	// HTTP is the client that calls it; its timeout bounds each call.
	HTTP *http.Client
}

// Error is an answer of the registry that is no success.
type Error struct {
	Status  int
	Method  string
	Path    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
}

func (e *Error) Is(target error) bool {
	return (target == ErrConflict && e.Status == http.StatusConflict) || (target == ErrNotFound && e.Status == http.StatusNotFound)
}

// call sends body (nil for none) and decodes the answer into out.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.URL, "/")+apiPath+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Message string }
		_ = json.Unmarshal(raw, &e)
		if e.Message == "" {
			e.Message = strings.TrimSpace(string(raw))
		}
		return &Error{Status: resp.StatusCode, Method: method, Path: path, Message: e.Message}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// EnsureRegisteredModel returns the registered model of that name, created
// when the registry has none.
func (c *Client) EnsureRegisteredModel(ctx context.Context, name string) (*RegisteredModel, error) {
	rm := &RegisteredModel{}
	err := c.call(ctx, http.MethodGet, "/registered_model?name="+url.QueryEscape(name), nil, rm)
	if !errors.Is(err, ErrNotFound) {
		return rm, err
	}
	err = c.call(ctx, http.MethodPost, "/registered_models", RegisteredModel{Name: name}, rm)
	if errors.Is(err, ErrConflict) {
		// Created meanwhile, or by a call whose answer was lost.
		err = c.call(ctx, http.MethodGet, "/registered_model?name="+url.QueryEscape(name), nil, rm)
	}
	return rm, err
}

// page is one page of a list.
type page[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"nextPageToken"`
}

// pageSize bounds each list call.
const pageSize = 100

func list[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	var out []T
	token := ""
	// The token encodes the ordering field, so every page asks the same
	// order.
	for {
		q := url.Values{"pageSize": {fmt.Sprint(pageSize)}, "orderBy": {"ID"}, "sortOrder": {"ASC"}}
		if token != "" {
			q.Set("nextPageToken", token)
		}
		var p page[T]
		if err := c.call(ctx, http.MethodGet, path+"?"+q.Encode(), nil, &p); err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.NextPageToken == "" || len(p.Items) == 0 {
			return out, nil
		}
		token = p.NextPageToken
	}
}

// Versions are the registered model's versions.
func (c *Client) Versions(ctx context.Context, registeredModelID string) ([]Version, error) {
	return list[Version](ctx, c, "/registered_models/"+url.PathEscape(registeredModelID)+"/versions")
}

// Artifacts are a version's model artifacts.
func (c *Client) Artifacts(ctx context.Context, versionID string) ([]Artifact, error) {
	all, err := list[Artifact](ctx, c, "/model_versions/"+url.PathEscape(versionID)+"/artifacts")
	if err != nil {
		return nil, err
	}
	var out []Artifact
	for _, a := range all {
		if a.ArtifactType == ModelArtifact {
			out = append(out, a)
		}
	}
	return out, nil
}

// CreateVersion registers v; ErrConflict when its name is taken.
func (c *Client) CreateVersion(ctx context.Context, v Version) (*Version, error) {
	out := &Version{}
	return out, c.call(ctx, http.MethodPost, "/model_versions", v, out)
}

// FindVersion is the registered model's version of exactly that name. The
// registry matches names with SQL LIKE, case-insensitive, so its answer
// is checked.
func (c *Client) FindVersion(ctx context.Context, registeredModelID, name string) (*Version, error) {
	out := &Version{}
	q := url.Values{"name": {name}, "parentResourceId": {registeredModelID}}
	if err := c.call(ctx, http.MethodGet, "/model_version?"+q.Encode(), nil, out); err != nil {
		return nil, err
	}
	if out.Name != name {
		return nil, &Error{Status: http.StatusNotFound, Method: http.MethodGet, Path: "/model_version", Message: "no version named exactly " + name}
	}
	return out, nil
}

// CreateArtifact adds a model artifact to a version; one of the same name
// that exists already is taken as this one.
func (c *Client) CreateArtifact(ctx context.Context, versionID string, a Artifact) error {
	a.ArtifactType = ModelArtifact
	err := c.call(ctx, http.MethodPost, "/model_versions/"+url.PathEscape(versionID)+"/artifacts", a, nil)
	if errors.Is(err, ErrConflict) {
		return nil
	}
	return err
}

// PatchVersion sets a version's state and custom properties. Both are
// sent whole: the registry resets a state left out, and replaces the
// custom properties with those sent.
func (c *Client) PatchVersion(ctx context.Context, id, state string, props map[string]Value) error {
	body := struct {
		State            string           `json:"state"`
		CustomProperties map[string]Value `json:"customProperties"`
	}{state, props}
	if body.CustomProperties == nil {
		body.CustomProperties = map[string]Value{}
	}
	return c.call(ctx, http.MethodPatch, "/model_versions/"+url.PathEscape(id), body, nil)
}
