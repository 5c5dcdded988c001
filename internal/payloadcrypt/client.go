package payloadcrypt

import (
	"context"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// DataConverter is the default data converter with this codec applied to
// every payload.
func (c *Codec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter is the default failure converter over DataConverter
// with EncodeCommonAttributes: a failure's message and stack trace (an
// activity error can quote a member's UPN) go into an encrypted payload,
// and history shows only "Encoded failure".
func (c *Codec) FailureConverter() converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          c.DataConverter(),
		EncodeCommonAttributes: true,
	})
}

// Apply sets o's DataConverter and FailureConverter to this codec's, so
// everything the client (and a worker built on it) writes is encrypted.
// A NoKeys codec sets only the DataConverter: the SDK panics when a
// failure converter cannot encode, and such a client shows an encrypted
// failure as "Encoded failure".
func (c *Codec) Apply(o *client.Options) {
	o.DataConverter = c.DataConverter()
	if c.current != "" {
		o.FailureConverter = c.FailureConverter()
	}
}

// DecodeMessage decodes, in place, every payload inside a Temporal API
// message (a history event, a whole history): for tools that read history
// directly, such as a test or a history export.
func (c *Codec) DecodeMessage(ctx context.Context, msg proto.Message) error {
	return proxy.VisitPayloads(ctx, msg, proxy.VisitPayloadsOptions{
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return c.Decode(p)
		},
	})
}
