using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using InfraRelocation.Core.Proxmox;
using InfraRelocation.Core.Remote;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Remote;

namespace InfraRelocation.Core.Tests.Remote;

/// <summary>The estate's pins of a renamed node: which values change, that nothing else does, and what a row says when it cannot.</summary>
public sealed class HypervisorRenameEstateTests
{
    private const string File = "ops/infra-relocation.yaml";

    private static (string Pem, string Fingerprint) Certificate(string node)
    {
        using var key = RSA.Create(2048);
        using var cert = new CertificateRequest($"CN={node}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return (cert.ExportCertificatePem(), ProxmoxEndpoint.FingerprintOf(cert));
    }

    private static readonly (string Pem, string Fingerprint) Old = Certificate("pve-old");
    private static readonly (string Pem, string Fingerprint) New = Certificate("pve-new");
    private static readonly string Vip = ProxmoxEndpoint.FormatFingerprint(new string('C', 64));

    private static byte[] Config(string entry) => Encoding.UTF8.GetBytes(
        "# estate config\nproxmox:\n  token_id: \"automation@pve!relocation\"\n  hosts:\n" + entry +
        "    pve-b: { api_url: \"https://pve-b:8006\", node: \"pve-b\" }   # untouched\n");

    private static string Apply(byte[] config, EstatePinPlan plan) => Encoding.UTF8.GetString(YamlScalarEditor.Apply(config, plan.Edits, File).Bytes);

    [Fact]
    public void FingerprintOfPem_ReadsACertificateAndRefusesAnythingElse()
    {
        Assert.Equal(Old.Fingerprint, HypervisorRenameEstate.FingerprintOfPem(Old.Pem));
        Assert.Null(HypervisorRenameEstate.FingerprintOfPem("not a certificate"));
        Assert.Null(HypervisorRenameEstate.FingerprintOfPem(null));
    }

    [Fact]
    public void Plan_ReplacesTheNodeNameAndEveryPinOfTheOldCertificate_ByteForByteElsewhere()
    {
        var config = Config(
            $"    pve-a: {{ api_url: \"https://pve-a:8006\", node: \"pve-old\",   # the node itself\n" +
            $"             fingerprint: [\"{Old.Fingerprint}\", \"{Vip}\"], node_fingerprint: \"{Old.Fingerprint.ToLowerInvariant()}\" }}\n");
        var plan = HypervisorRenameEstate.Plan("pve-a", 6, config, File, "pve-new", Old.Fingerprint, New.Fingerprint, pending: false, preview: false);
        Assert.Equal(BootstrapStepState.Done, plan.Row.State);
        Assert.Equal(3, plan.Edits.Count);
        var expected = Encoding.UTF8.GetString(config)
            .Replace("node: \"pve-old\"", "node: \"pve-new\"", StringComparison.Ordinal)
            .Replace($"[\"{Old.Fingerprint}\"", $"[\"{New.Fingerprint}\"", StringComparison.Ordinal)
            .Replace(Old.Fingerprint.ToLowerInvariant(), New.Fingerprint, StringComparison.Ordinal);
        Assert.Equal(expected, Apply(config, plan));
        Assert.Contains(Vip, Apply(config, plan), StringComparison.Ordinal);   // the VIP's pin is another certificate's
        Assert.Contains("node 'pve-old' → 'pve-new'", plan.Row.Evidence, StringComparison.Ordinal);
        var written = HypervisorRenameEstate.Read(Encoding.UTF8.GetBytes(Apply(config, plan)), File, "pve-a");
        Assert.Null(HypervisorRenameEstate.Mismatch(written, "pve-new", New.Fingerprint));
        Assert.NotNull(HypervisorRenameEstate.Mismatch(HypervisorRenameEstate.Read(config, File, "pve-a"), "pve-new", New.Fingerprint));

        // A second run (the node already renamed, the pins already the new certificate's) changes nothing.
        var again = HypervisorRenameEstate.Plan("pve-a", 6, Encoding.UTF8.GetBytes(Apply(config, plan)), File, "pve-new", New.Fingerprint, New.Fingerprint, false, false);
        Assert.Equal(BootstrapStepState.Unchanged, again.Row.State);
        Assert.Empty(again.Edits);
    }

    [Fact]
    public void Plan_InsertsTheNodeWhenTheHostIdNamedItAndLeavesTheCertificateThatOnlyMoved()
    {
        var config = Config($"    pve-a: {{ api_url: \"https://pve-a:8006\", node_fingerprint: \"{Old.Fingerprint}\" }}\n");
        var plan = HypervisorRenameEstate.Plan("pve-a", 6, config, File, "pve-new", Old.Fingerprint, Old.Fingerprint, false, false);
        Assert.Single(plan.Edits);
        Assert.Equal("pve-new", HypervisorRenameEstate.Read(Encoding.UTF8.GetBytes(Apply(config, plan)), File, "pve-a")!.Node);
        Assert.Contains(Old.Fingerprint, Apply(config, plan), StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_UnderWhatIf_SaysThePinWaitsForTheCertificatePvecmIssues()
    {
        var config = Config($"    pve-a: {{ api_url: \"https://pve-a:8006\", node: \"pve-old\", node_fingerprint: \"{Old.Fingerprint}\" }}\n");
        var plan = HypervisorRenameEstate.Plan("pve-a", 6, config, File, "pve-new", Old.Fingerprint, after: null, pending: true, preview: true);
        Assert.Equal(BootstrapStepState.Planned, plan.Row.State);
        Assert.True(plan.Pending);
        Assert.Single(plan.Edits);   // the node; the fingerprint is known only after the rename
        Assert.Contains("the certificate pvecm issues for 'pve-new'", plan.Row.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_FailsWithTheCommandToPin_WhenTheNewCertificateCannotBeRead()
    {
        var config = Config($"    pve-a: {{ api_url: \"https://pve-a:8006\", node: \"pve-old\", node_fingerprint: \"{Old.Fingerprint}\" }}\n");
        var plan = HypervisorRenameEstate.Plan("pve-a", 6, config, File, "pve-new", Old.Fingerprint, after: null, pending: false, preview: false);
        Assert.Equal(BootstrapStepState.Failed, plan.Row.State);
        Assert.Contains("openssl x509 -noout -fingerprint -sha256 -in /etc/pve/nodes/pve-new/pve-ssl.pem", plan.Row.Evidence, StringComparison.Ordinal);
        Assert.Contains($"{File}:5:", plan.Row.Evidence, StringComparison.Ordinal);
        Assert.Single(plan.Edits);   // the node name is known and still written
    }

    [Fact]
    public void Plan_NeverOverwritesAPinOfAnotherCertificate()
    {
        var config = Config($"    pve-a: {{ api_url: \"https://pve-a:8006\", node: \"pve-new\", node_fingerprint: \"{Vip}\" }}\n");
        var plan = HypervisorRenameEstate.Plan("pve-a", 6, config, File, "pve-new", Old.Fingerprint, New.Fingerprint, false, false);
        Assert.Equal(BootstrapStepState.Failed, plan.Row.State);
        Assert.Empty(plan.Edits);
        Assert.Contains($"set node_fingerprint: \"{New.Fingerprint}\"", plan.Row.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_SkipsAHostTheEstateDoesNotConfigure()
    {
        Assert.Equal(BootstrapStepState.Skipped, HypervisorRenameEstate.Plan("pve-z", 6, Config(""), File, "pve-new", null, null, false, false).Row.State);
        Assert.Equal(BootstrapStepState.Skipped, HypervisorRenameEstate.Plan("pve-z", 6, null, File, "pve-new", null, null, false, false).Row.State);
    }
}
