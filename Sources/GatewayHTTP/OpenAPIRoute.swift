public import Hummingbird
import NIOCore

/// `GET /v1/openapi.json`: the server's OpenAPI 3.1 document (`OpenAPIDocuments`, embedded from
/// docs/openapi.json or docs/openapi-handbook.json). Public: it describes the routes, no data.
public enum OpenAPIRoute {
    /// Adds the route to `router`, answering `document` (the gateway's or the handbook receiver's).
    public static func add<Context: RequestContext>(to router: Router<Context>, document: String) {
        let body = ByteBuffer(string: document)
        router.get("/v1/openapi.json") { request, _ -> Response in
            try Param.only(request, [])
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
        }
    }
}
