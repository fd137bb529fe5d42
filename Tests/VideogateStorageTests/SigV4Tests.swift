import Foundation
import Testing
@testable import VideogateStorage

/// AWS's published Signature Version 4 examples. The generic ones come from the SigV4 test suite
/// (files `<name>.req/.creq/.sts/.authz`, as vendored in bazelbuild/bazel
/// `third_party/aws-sig-v4-test-suite/`); the S3 ones from the S3 API reference pages
/// "Signature Calculations for the Authorization Header" (GET Object) and "Authenticating
/// Requests: Using Query Parameters" (presigned URL).
@Suite("SigV4 signing against AWS's published vectors")
struct SigV4Tests {
    static let suiteSigner = SigV4Signer(
        credentials: .init(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")
    /// 20150830T123600Z
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)
    static let suiteHeaders = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")]
    static let emptyHash = SigV4Signer.emptyPayloadHash
    static let credential = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"

    static func sts(_ hash: String) -> String { "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\(hash)" }

    @Test func dateFormats() {
        #expect(SigV4Signer.amzDate(Self.suiteDate) == "20150830T123600Z")
        #expect(SigV4Signer.dateStamp(Self.suiteDate) == "20150830")
    }

    @Test func getVanilla() {
        let signed = Self.suiteSigner.sign(
            method: "GET", path: "/", query: [], headers: Self.suiteHeaders, payloadHash: Self.emptyHash, date: Self.suiteDate)
        #expect(signed.canonicalRequest == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(Self.emptyHash)")
        #expect(signed.stringToSign == Self.sts("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"))
        #expect(
            signed.authorization
                == "\(Self.credential), SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    /// get-vanilla-query-order-key: a repeated name is ordered by value (uppercase first).
    @Test func getVanillaQueryOrderKey() {
        let signed = Self.suiteSigner.sign(
            method: "GET", path: "/", query: [("Param1", "value2"), ("Param1", "Value1")], headers: Self.suiteHeaders,
            payloadHash: Self.emptyHash, date: Self.suiteDate)
        #expect(
            signed.canonicalRequest
                == "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(Self.emptyHash)")
        #expect(signed.stringToSign == Self.sts("704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89"))
        #expect(
            signed.authorization
                == "\(Self.credential), SignedHeaders=host;x-amz-date, Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1")
    }

    /// get-vanilla-query-order-key-case: names are sorted.
    @Test func getVanillaQueryOrderKeyCase() {
        let signed = Self.suiteSigner.sign(
            method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")], headers: Self.suiteHeaders,
            payloadHash: Self.emptyHash, date: Self.suiteDate)
        #expect(signed.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2] == "Param1=value1&Param2=value2")
        #expect(
            signed.authorization
                == "\(Self.credential), SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    @Test func postVanilla() {
        let signed = Self.suiteSigner.sign(
            method: "POST", path: "/", query: [], headers: Self.suiteHeaders, payloadHash: Self.emptyHash, date: Self.suiteDate)
        #expect(
            signed.authorization
                == "\(Self.credential), SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
    }

    /// post-x-www-form-urlencoded: a signed body and a signed Content-Type.
    @Test func postFormURLEncoded() {
        let bodyHash = SigV4Signer.sha256Hex(Data("Param1=value1".utf8))
        #expect(bodyHash == "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")
        let signed = Self.suiteSigner.sign(
            method: "POST", path: "/", query: [], headers: [("Content-Type", "application/x-www-form-urlencoded")] + Self.suiteHeaders,
            payloadHash: bodyHash, date: Self.suiteDate)
        #expect(
            signed.canonicalRequest
                == "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                + "content-type;host;x-amz-date\n\(bodyHash)")
        #expect(signed.stringToSign == Self.sts("42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"))
        #expect(
            signed.authorization
                == "\(Self.credential), SignedHeaders=content-type;host;x-amz-date, "
                + "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a")
    }

    /// get-header-value-trim: values trimmed, inner runs of spaces collapsed (quotes or not).
    @Test func getHeaderValueTrim() {
        let signed = Self.suiteSigner.sign(
            method: "GET", path: "/", query: [],
            headers: [("Host", "example.amazonaws.com"), ("My-Header1", " value1"), ("My-Header2", " \"a   b   c\""), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: Self.emptyHash, date: Self.suiteDate)
        #expect(signed.canonicalRequest.contains("\nmy-header1:value1\nmy-header2:\"a b c\"\n"))
        #expect(
            signed.authorization
                == "\(Self.credential), SignedHeaders=host;my-header1;my-header2;x-amz-date, "
                + "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736")
    }

    /// get-header-key-duplicate: repeated names joined with commas in the order sent.
    @Test func getHeaderKeyDuplicate() {
        let signed = Self.suiteSigner.sign(
            method: "GET", path: "/", query: [],
            headers: [
                ("Host", "example.amazonaws.com"), ("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1"),
                ("X-Amz-Date", "20150830T123600Z"),
            ],
            payloadHash: Self.emptyHash, date: Self.suiteDate)
        #expect(signed.canonicalRequest.contains("\nmy-header1:value2,value2,value1\n"))
        #expect(
            signed.authorization
                == "\(Self.credential), SignedHeaders=host;my-header1;x-amz-date, "
                + "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea")
    }

    /// get-header-value-multiline: the folded lines `value1`, `value2`, `value3` of one header are
    /// its values, joined with commas (the suite's .creq says `my-header1:value1,value2,value3`).
    @Test func getHeaderValueMultiline() {
        let signed = Self.suiteSigner.sign(
            method: "GET", path: "/", query: [],
            headers: [
                ("Host", "example.amazonaws.com"), ("My-Header1", "value1"), ("My-Header1", "  value2"), ("My-Header1", "     value3"),
                ("X-Amz-Date", "20150830T123600Z"),
            ],
            payloadHash: Self.emptyHash, date: Self.suiteDate)
        #expect(
            signed.canonicalRequest
                == "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1,value2,value3\nx-amz-date:20150830T123600Z\n\n"
                + "host;my-header1;x-amz-date\n\(Self.emptyHash)")
        #expect(signed.stringToSign == Self.sts("b7b6cbfd8a0430b78891e986784da2630c8a135a8595cec25b26ea94f926ee55"))
        #expect(
            signed.authorization
                == "\(Self.credential), SignedHeaders=host;my-header1;x-amz-date, "
                + "Signature=ba17b383a53190154eb5fa66a1b836cc297cc0a3d70a5d00705980573d8ff790")
    }

    // MARK: S3 documentation examples

    static let s3Credentials = SigV4Signer.Credentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    /// 20130524T000000Z
    static let s3Date = Date(timeIntervalSince1970: 1_369_353_600)

    /// "Example: GET Object": the first 10 bytes of examplebucket/test.txt.
    @Test func s3GetObjectWithRange() {
        let signer = SigV4Signer(credentials: Self.s3Credentials, region: "us-east-1")
        let signed = signer.sign(
            method: "GET", path: "/test.txt", query: [],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"), ("x-amz-content-sha256", Self.emptyHash),
                ("x-amz-date", "20130524T000000Z"),
            ],
            payloadHash: Self.emptyHash, date: Self.s3Date)
        #expect(
            signed.canonicalRequest
                == "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:\(Self.emptyHash)\n"
                + "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n\(Self.emptyHash)")
        #expect(
            signed.stringToSign
                == "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972")
        #expect(signed.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    static let presignedExample =
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z"
        + "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

    /// "Authenticating Requests: Using Query Parameters": a GET of examplebucket/test.txt valid 24 h.
    @Test func s3PresignedURL() {
        let signer = SigV4Signer(credentials: Self.s3Credentials, region: "us-east-1")
        let (query, signed) = signer.presign(
            method: "GET", path: "/test.txt", host: "examplebucket.s3.amazonaws.com", expires: 86_400, date: Self.s3Date)
        #expect(
            signed.canonicalRequest
                == "GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD")
        #expect(
            signed.stringToSign
                == "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04")
        #expect("https://examplebucket.s3.amazonaws.com/test.txt?" + query == Self.presignedExample)
    }

    /// The store's `directURL` builds the same URL from a virtual-host configuration on AWS.
    @Test func storeDirectURLMatchesTheAWSExample() async throws {
        let configuration = try S3Configuration(
            bucket: "examplebucket", region: "us-east-1", endpoint: "https://s3.amazonaws.com", pathStyle: false, credentials: Self.s3Credentials)
        let store = S3BlobStore(configuration: configuration, now: { Self.s3Date })
        let url = try await store.directURL(key: "test.txt", expires: Self.s3Date.addingTimeInterval(86_400))
        #expect(url?.absoluteString == Self.presignedExample)
        // Lifetimes past S3's 7-day limit are capped.
        let long = try await store.directURL(key: "test.txt", expires: Self.s3Date.addingTimeInterval(30 * 86_400))
        #expect(long?.absoluteString.contains("X-Amz-Expires=604800&") == true)
    }

    // MARK: Encoding and addressing

    @Test func objectKeysAreEncodedOnceKeepingSlashes() throws {
        #expect(SigV4Signer.uriEncode("videos/a b+c~d_e.mp4", keepSlash: true) == "videos/a%20b%2Bc~d_e.mp4")
        #expect(SigV4Signer.uriEncode("x/%41é", keepSlash: false) == "x%2F%2541%C3%A9")
        let credentials = SigV4Signer.Credentials(accessKeyID: "a", secretAccessKey: "s")
        let pathStyle = try S3Configuration(
            bucket: "b", prefix: "/results/", endpoint: "http://127.0.0.1:9000", pathStyle: true, credentials: credentials)
        #expect(pathStyle.hostHeader == "127.0.0.1:9000")
        #expect(pathStyle.path(objectKey: pathStyle.objectKey("videos/x y.mp4")) == "/b/results/videos/x%20y.mp4")
        #expect(pathStyle.path(objectKey: nil) == "/b")
        let virtual = try S3Configuration(bucket: "b", region: "eu-west-1", credentials: credentials)
        #expect(virtual.hostHeader == "b.s3.eu-west-1.amazonaws.com" && virtual.scheme == "https")
        #expect(virtual.path(objectKey: "k") == "/k" && virtual.path(objectKey: nil) == "/")
        #expect(try S3Configuration(bucket: "b", endpoint: "https://minio.local:443", credentials: credentials).port == nil)
    }

    @Test func storageURLs() throws {
        #expect(try S3Configuration.parseStorageURL("s3://bucket") == ("bucket", ""))
        #expect(try S3Configuration.parseStorageURL("s3://bucket/a/b/") == ("bucket", "a/b"))
        #expect(throws: S3Configuration.Invalid.self) { try S3Configuration.parseStorageURL("s3:///prefix") }
        #expect(throws: S3Configuration.Invalid.self) { try S3Configuration.parseStorageURL("s3://") }
    }

    @Test func errorDocumentsAndUploadIDsAreRead() {
        let error = Data(#"<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>The key does not exist.</Message></Error>"#.utf8)
        #expect(S3XML.error(error)?.code == "NoSuchKey" && S3XML.error(error)?.message == "The key does not exist.")
        let initiated = Data(
            #"<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key><UploadId>abc-1</UploadId></InitiateMultipartUploadResult>"#
                .utf8)
        #expect(S3XML.uploadID(initiated) == "abc-1" && S3XML.error(initiated) == nil)
        #expect(S3XML.error(Data("not xml".utf8)) == nil)
    }
}
