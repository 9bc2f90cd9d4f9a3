using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Gates;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Tests.Model;

/// <summary>
/// The findings' report written by hand (and digested as it is written) is byte for byte what the serializer wrote
/// before it, so the digests of receipts already in ledgers stay verifiable (docs/design/ledger.md).
/// </summary>
public sealed class FindingsReportTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ir-findings-report-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    // Every property set, every property null, each severity, and text the encoder escapes.
    private static List<RelocationFinding> Findings(int count) => Enumerable.Range(0, count).Select(i => i % 4 == 3
        ? new RelocationFinding { RuleId = "SCHEMA.FileMissing", Severity = FindingSeverity.Information, Message = "" }
        : new RelocationFinding
        {
            RuleId = i % 2 == 0 ? "D35.RegistryHostMismatch" : "D37.VmidOutOfRange",
            Severity = i % 3 == 0 ? FindingSeverity.Warning : FindingSeverity.Error,
            Message = $"finding {i}: \"host-{i}\" <a&b> 'quoted' \\ tab\t newline\n é ü 漢字 emoji \U0001F600 \u0001 +",
            Location = new SourceLocation("ops/bindings/infra.relocation.plan.yaml", i + 1, (i % 80) + 1),
            DocumentPath = $"services[{i}].host",
            Subject = $"svc-{i:D6}",
            RelatedLocation = i % 2 == 0 ? new SourceLocation("docs/governance/SERVICE_REGISTRY.yaml", 2 * i + 7, 3) : null,
            Expected = i % 5 == 0 ? null : $"app-{i}",
            Actual = i % 5 == 0 ? null : new string('x', i % 7 == 0 ? 40_000 : 3), // some longer than the hashing buffer
        }).ToList();

    private static byte[] AsTheSerializerWroteIt(List<RelocationFinding> findings) =>
        Encoding.UTF8.GetBytes(JsonSerializer.Serialize(findings, ReceiptStore.JsonOptions));

    private static string Sha256(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(300)]
    public void TheReportIsTheSerializersText(int count)
    {
        var findings = Findings(count);
        Assert.Equal(Encoding.UTF8.GetString(AsTheSerializerWroteIt(findings)), Encoding.UTF8.GetString(FindingsReport.Utf8(findings)));
    }

    [Fact]
    public void TheStreamedDigestIsTheDigestOfTheSerializersText()
    {
        var findings = Findings(2_000);
        Assert.Equal(Sha256(AsTheSerializerWroteIt(findings)), FindingsReport.Sha256Hex(findings));
    }

    [Fact]
    public void AReceiptNamesTheSameDigestWhetherItsReportIsKeptOrNot()
    {
        var findings = Findings(50);
        GateReceipt Gate() => new()
        {
            Capability = "infra.relocation.gate", Mode = RunMode.Read, Outcome = ReceiptOutcome.Failed, Findings = findings,
            EndedUtc = DateTimeOffset.UtcNow, Results = [new GateResult { GateId = GateIds.Parity, Passed = false, Findings = findings }],
        };
        var streamed = new ReceiptStore(Path.Combine(_root, "streamed")).Append(Gate());
        var kept = new ReceiptStore(Path.Combine(_root, "kept")) { KeepReports = true }.Append(Gate());

        Assert.Equal(Sha256(AsTheSerializerWroteIt(findings)), streamed.FindingsSha256);
        Assert.Equal(streamed.FindingsSha256, kept.FindingsSha256);
        Assert.Equal(streamed.FindingCounts, kept.FindingCounts);
        Assert.Equal(AsTheSerializerWroteIt(findings), File.ReadAllBytes(Path.Combine(_root, "kept", kept.FindingsReport!)));
    }
}
