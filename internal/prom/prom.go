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

// Package prom is the operator's narrow view of Prometheus: run one instant
// query, get one number or a reason why there is none.
package prom

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// ErrNoData means the query ran and returned nothing to judge: an empty
// vector, or NaN. Callers treat it as Unknown, never as a miss.
var ErrNoData = errors.New("query returned no data")

// ErrNotConfigured means the operator was started without a Prometheus
// address.
var ErrNotConfigured = errors.New("no Prometheus address configured (--prometheus-address)")

// ErrUnavailable means Prometheus gave no answer: unreachable, timing out,
// or failing with a server error. Unlike ErrNoData it says nothing about
// the model, so an analysis waits for Prometheus instead of counting it.
var ErrUnavailable = errors.New("prometheus unavailable")

// Querier runs instant PromQL queries.
type Querier interface {
	// Query runs a query that must yield one value.
	Query(ctx context.Context, query string) (float64, error)
	// QueryVector runs a query that yields any number of series, as a
	// fleet query does.
	QueryVector(ctx context.Context, query string) (model.Vector, error)
	// QueryVectorAt runs a query as of an earlier time, as a drift
	// reference does, and yields any number of series.
	QueryVectorAt(ctx context.Context, query string, at time.Time) (model.Vector, error)
}

// Client queries the Prometheus HTTP API.
type Client struct {
	api     promv1.API
	timeout time.Duration
}

// NewClient returns a Querier for the Prometheus at address. An empty
// address yields a Querier whose every answer is ErrNotConfigured, so a
// product's objectives read Unknown with that reason instead of failing.
func NewClient(address string, timeout time.Duration) (Querier, error) {
	return NewClientWith(address, timeout, Auth{})
}

// Auth is how the operator proves itself to a Prometheus API that asks:
// Thanos, Mimir, Cortex and managed services sit behind TLS, a token or a
// password, and multi-tenant ones want a tenant header. Every secret is a
// file, read by Prometheus' own HTTP client library (prometheus/common) on
// use, so that a rotated credential is picked up and the operator needs no
// access to Secrets: mount them into its pod.
type Auth struct {
	// CAFile verifies the server's certificate; the system's roots when
	// empty.
	CAFile string
	// CertFile and KeyFile are a client certificate, for mutual TLS.
	CertFile, KeyFile string
	// ServerName overrides the name the server's certificate must carry.
	ServerName string
	// BearerTokenFile holds a token sent as "Authorization: Bearer".
	BearerTokenFile string
	// BasicAuthUser and BasicAuthPasswordFile are HTTP basic credentials.
	BasicAuthUser, BasicAuthPasswordFile string
	// Headers are sent with every request, such as X-Scope-OrgID.
	Headers map[string]string
}

// httpConfig is the auth as Prometheus' client library takes it.
func (a Auth) httpConfig() config.HTTPClientConfig {
	c := config.DefaultHTTPClientConfig
	c.TLSConfig = config.TLSConfig{CAFile: a.CAFile, CertFile: a.CertFile, KeyFile: a.KeyFile, ServerName: a.ServerName}
	if a.BearerTokenFile != "" {
		c.Authorization = &config.Authorization{Type: "Bearer", CredentialsFile: a.BearerTokenFile}
	}
	if a.BasicAuthUser != "" || a.BasicAuthPasswordFile != "" {
		c.BasicAuth = &config.BasicAuth{Username: a.BasicAuthUser, PasswordFile: a.BasicAuthPasswordFile}
	}
	if len(a.Headers) > 0 {
		h := map[string]config.Header{}
		for k, v := range a.Headers {
			h[k] = config.Header{Values: []string{v}}
		}
		c.HTTPHeaders = &config.Headers{Headers: h}
	}
	return c
}

// NewClientWith is NewClient with auth.
func NewClientWith(address string, timeout time.Duration, auth Auth) (Querier, error) {
	if address == "" {
		return unconfigured{}, nil
	}
	hc := auth.httpConfig()
	if err := hc.Validate(); err != nil {
		return nil, fmt.Errorf("prometheus client for %q: %w", address, err)
	}
	// The library's transport keeps up to 1,000 idle connections per
	// host: every reconcile worker may query at once, and each new one
	// would cost a TLS handshake.
	rt, err := config.NewRoundTripperFromConfig(hc, "aipm-operator")
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %q: %w", address, err)
	}
	c, err := api.NewClient(api.Config{Address: address, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %q: %w", address, err)
	}
	return &Client{api: promv1.NewAPI(c), timeout: timeout}, nil
}

// Query runs query at the current time.
func (c *Client) Query(ctx context.Context, query string) (float64, error) {
	v, err := c.run(ctx, query)
	if err != nil {
		return 0, err
	}
	return single(v)
}

// QueryVector runs query at the current time; its result must be a vector.
func (c *Client) QueryVector(ctx context.Context, query string) (model.Vector, error) {
	return c.QueryVectorAt(ctx, query, time.Now())
}

// QueryVectorAt runs query as of at; its result must be a vector.
func (c *Client) QueryVectorAt(ctx context.Context, query string, at time.Time) (model.Vector, error) {
	v, err := c.runAt(ctx, query, at)
	if err != nil {
		return nil, err
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("query returned a %s; it must return a vector of series", v.Type())
	}
	return vec, nil
}

func (c *Client) run(ctx context.Context, query string) (model.Value, error) {
	return c.runAt(ctx, query, time.Now())
}

func (c *Client) runAt(ctx context.Context, query string, at time.Time) (model.Value, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	v, _, _, err := c.api.Query(ctx, query, at)
	if err != nil {
		// Prometheus answered and refused the query (bad PromQL, an
		// execution error, a 4xx): that is the query's fault. Anything else,
		// a transport error or a 5xx, is Prometheus being away.
		var apiErr *promv1.Error
		if errors.As(err, &apiErr) && (apiErr.Type == promv1.ErrBadData || apiErr.Type == promv1.ErrExec || apiErr.Type == promv1.ErrClient) {
			return nil, fmt.Errorf("prometheus: %w", err)
		}
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return v, nil
}

// single is the one value of a query's result.
func single(v model.Value) (float64, error) {
	var f float64
	switch r := v.(type) {
	case model.Vector:
		switch len(r) {
		case 0:
			return 0, ErrNoData
		case 1:
			f = float64(r[0].Value)
		default:
			return 0, fmt.Errorf("query returned %d series; it must return one (aggregate with sum, avg or max)", len(r))
		}
	case *model.Scalar:
		f = float64(r.Value)
	default:
		return 0, fmt.Errorf("query returned a %s; it must return a scalar or a one-sample vector", v.Type())
	}
	return finite(f)
}

// finite turns NaN and infinities, which no threshold can judge, into
// ErrNoData.
func finite(f float64) (float64, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, ErrNoData
	}
	return f, nil
}

type unconfigured struct{}

func (unconfigured) Query(context.Context, string) (float64, error) { return 0, ErrNotConfigured }

func (unconfigured) QueryVectorAt(context.Context, string, time.Time) (model.Vector, error) {
	return nil, ErrNotConfigured
}

func (unconfigured) QueryVector(context.Context, string) (model.Vector, error) {
	return nil, ErrNotConfigured
}
