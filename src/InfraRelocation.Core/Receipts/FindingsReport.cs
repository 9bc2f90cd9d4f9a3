using System.Buffers;
using System.Text;
using System.Text.Json;
using InfraRelocation.Core.Hashing;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Receipts;

/// <summary>
/// The full findings of a run as the report file keeps them and the receipt digests them
/// (<see cref="RelocationReceipt.FindingsSha256"/>): a JSON array of the findings, byte for byte what
/// <see cref="JsonSerializer"/> writes with the ledger's options (properties in declaration order, nulls written,
/// severities as names, the default encoder), so the digests of receipts written before this writer still match.
/// Written by hand over a <see cref="Utf8JsonWriter"/> so that a run with many findings is digested as it is written,
/// without building its text (17 MB for 14,500 findings) and without the serializer's metadata for a cold process.
/// xUnit's FindingsReportTests hold it to the serializer's bytes.
/// </summary>
public static class FindingsReport
{
    /// <summary>SHA-256 of the report's text, lower-case hex, computed without building the text.</summary>
    public static string Sha256Hex(IReadOnlyList<RelocationFinding> findings)
    {
        using var sink = new Sha256Writer();
        Write(sink, findings);
        return sink.Sha256Hex();
    }

    /// <summary>The report's UTF-8 text (for a report file kept on disk, or one whose text must be masked).</summary>
    public static byte[] Utf8(IReadOnlyList<RelocationFinding> findings)
    {
        var buffer = new ArrayBufferWriter<byte>(Math.Max(256, findings.Count * 300));
        Write(buffer, findings);
        return buffer.WrittenSpan.ToArray();
    }

    private static void Write(IBufferWriter<byte> output, IReadOnlyList<RelocationFinding> findings)
    {
        using var json = new Utf8JsonWriter(output);
        json.WriteStartArray();
        foreach (var finding in findings)
        {
            json.WriteStartObject();
            json.WriteString("RuleId", finding.RuleId);
            json.WriteString("Severity", SeverityName(finding.Severity));
            json.WriteString("Message", finding.Message);
            WriteLocation(json, "Location", finding.Location);
            json.WriteString("DocumentPath", finding.DocumentPath);
            json.WriteString("Subject", finding.Subject);
            WriteLocation(json, "RelatedLocation", finding.RelatedLocation);
            json.WriteString("Expected", finding.Expected);
            json.WriteString("Actual", finding.Actual);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private static string SeverityName(FindingSeverity severity) => severity switch
    {
        FindingSeverity.Information => nameof(FindingSeverity.Information),
        FindingSeverity.Warning => nameof(FindingSeverity.Warning),
        FindingSeverity.Error => nameof(FindingSeverity.Error),
        _ => severity.ToString(),
    };

    private static void WriteLocation(Utf8JsonWriter json, string name, SourceLocation? location)
    {
        if (location is null)
        {
            json.WriteNull(name);
            return;
        }
        json.WriteStartObject(name);
        json.WriteString("File", location.File);
        json.WriteNumber("Line", location.Line);
        json.WriteNumber("Column", location.Column);
        json.WriteEndObject();
    }
}
