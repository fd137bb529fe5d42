import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The few XML documents the S3 store reads and writes.
enum S3XML {
    /// What a document holds: the root element's name and the text of every element, by name,
    /// in document order (S3's answers have no repeated names at different depths that matter here).
    struct Document {
        var root: String?
        var values: [String: [String]] = [:]
        func first(_ name: String) -> String? { values[name]?.first }
    }

    /// Parses `data`; nil when it is not well-formed XML.
    static func parse(_ data: Data) -> Document? {
        let collector = Collector()
        let parser = XMLParser(data: data)
        parser.delegate = collector
        guard parser.parse() else { return nil }
        return collector.document
    }

    /// `UploadId` of an `InitiateMultipartUploadResult`.
    static func uploadID(_ data: Data) -> String? {
        guard let document = parse(data), document.root == "InitiateMultipartUploadResult" else { return nil }
        return document.first("UploadId").flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `Code` and `Message` of an `Error` document; nil when the body is not one.
    static func error(_ data: Data) -> (code: String?, message: String?)? {
        guard let document = parse(data), document.root == "Error" else { return nil }
        return (document.first("Code"), document.first("Message"))
    }

    /// Every `Key` of a `ListBucketResult` (ListObjectsV2).
    static func listedKeys(_ data: Data) -> [String] {
        guard let document = parse(data), document.root == "ListBucketResult" else { return [] }
        return document.values["Key"] ?? []
    }

    /// The body of CompleteMultipartUpload: parts in order with their ETags.
    static func completeMultipartUpload(_ etags: [String]) -> Data {
        var xml = #"<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#
        for (index, etag) in etags.enumerated() {
            xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(escape(etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        return Data(xml.utf8)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    private final class Collector: NSObject, XMLParserDelegate {
        var document = Document()
        private var text = ""

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
            attributes attributeDict: [String: String] = [:]
        ) {
            if document.root == nil { document.root = elementName }
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            document.values[elementName, default: []].append(text.trimmingCharacters(in: .whitespacesAndNewlines))
            text = ""
        }
    }
}
