/// An optional that a JSON body shows as `null` when absent. A synthesized `Encodable` leaves an
/// optional's key out instead; the fields that the OpenAPI document marks required but nullable
/// (a key's `spend_limit_daily`, a quote's `spend_limit_remaining`) must be there either way.
struct NullOr<Value: Encodable & Sendable>: Encodable, Sendable {
    let value: Value?

    init(_ value: Value?) {
        self.value = value
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value { try container.encode(value) } else { try container.encodeNil() }
    }
}
