/// The OpenAPI 3.1 document of every route (being written).
enum OpenAPIDocument {
    static func json(routes: RouteTable) -> [UInt8] { Array("{}".utf8) }
}
