using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using InfraRelocation.Core.Proxmox;
using InfraRelocation.Core.Remote;
using InfraRelocation.Remote;

namespace InfraRelocation.Core.Tests.Remote;

/// <summary>The rename's survey parsing, refusals, plan and estate row (the commands run on a real machine in HypervisorRename.Tests.ps1).</summary>
public sealed class HypervisorRenameTests
{
    private static readonly HypervisorNodeSurvey Standalone = new([], [], ["lrm_status", "pve-ssl.key", "pve-ssl.pem"], false, false);

    [Fact]
    public void ParseSurvey_ReadsTheTaggedLines()
    {
        var s = HypervisorRename.ParseSurvey(
            "IR_CLUSTER=/etc/pve/corosync.conf\nIR_GUEST=/etc/pve/nodes/pve-old/qemu-server/101.conf\r\nIR_NODEDIR=1\nIR_NODEFILE=pve-ssl.pem\nIR_NODEFILE=qemu-server/101.conf\nIR_PVECM=1\n");
        Assert.Equal(["/etc/pve/corosync.conf"], s.ClusterConfigs);
        Assert.Equal(["/etc/pve/nodes/pve-old/qemu-server/101.conf"], s.Guests);
        Assert.Equal(["pve-ssl.pem", "qemu-server/101.conf"], s.NodeDirectoryFiles);
        Assert.False(s.NewDirectoryExists);
        Assert.True(s.HasPvecm);
        Assert.Null(HypervisorRename.ParseSurvey("").NodeDirectoryFiles);
    }

    [Fact]
    public void Refusal_ClusterFirstThenGuestsThenNoNodeDirectory()
    {
        Assert.Equal("HypervisorRenameClustered", HypervisorRename.Refusal("pve-a", "old", "new", Standalone with { ClusterConfigs = ["/etc/corosync/corosync.conf"], Guests = ["x.conf"] })!.ErrorId);
        // A cluster member is refused even when the name is already the new one: the cmdlet never works on one.
        Assert.Equal("HypervisorRenameClustered", HypervisorRename.Refusal("pve-a", "new", "new", Standalone with { ClusterConfigs = ["/etc/pve/corosync.conf"] })!.ErrorId);
        var guests = HypervisorRename.Refusal("pve-a", "old", "new", Standalone with { Guests = ["/etc/pve/nodes/old/lxc/200.conf"] })!;
        Assert.Equal("HypervisorRenameHasGuests", guests.ErrorId);
        Assert.Contains("lxc/200.conf", guests.Message, StringComparison.Ordinal);
        Assert.Equal("HypervisorRenameNotANode", HypervisorRename.Refusal("pve-a", "old", "new", Standalone with { NodeDirectoryFiles = null })!.ErrorId);
        Assert.Null(HypervisorRename.Refusal("pve-a", "old", "new", Standalone));
        // Already renamed: its guests stay where they are, nothing moves.
        Assert.Null(HypervisorRename.Refusal("pve-a", "new", "new", Standalone with { Guests = ["/etc/pve/nodes/new/qemu-server/1.conf"] }));
    }

    [Fact]
    public void Plan_HostsHostnameNodeDirectoryCertificates_WithTheirFiles()
    {
        var plan = HypervisorRename.Plan("pve-old", "pve-fra1-a", Standalone);
        Assert.Equal(["hosts:/etc/hosts", "hostname:/etc/hostname", "pve:node-directory", "pve:certificates"], plan.Select(p => p.Step.Name));
        Assert.Equal("mv -T /etc/pve/nodes/pve-old /etc/pve/nodes/pve-fra1-a", plan[2].Step.Run);
        Assert.Contains("/etc/pve/nodes/pve-old/pve-ssl.pem → /etc/pve/nodes/pve-fra1-a/pve-ssl.pem", plan[2].Files);
        Assert.Contains("pvecm updatecerts --force", plan[3].Step.Run, StringComparison.Ordinal);
        Assert.Equal("command -v pvecm >/dev/null 2>&1", plan[3].Step.AppliesCheck);
        Assert.Contains("NOT regenerated", plan[3].Step.NotApplicableReason, StringComparison.Ordinal);
        Assert.Empty(plan[3].Files);
        Assert.Equal(["/etc/pve/nodes/pve-fra1-a/pve-ssl.pem", "/etc/pve/nodes/pve-fra1-a/pve-ssl.key"],
            HypervisorRename.Plan("pve-old", "pve-fra1-a", Standalone with { HasPvecm = true })[3].Files);
    }

    [Fact]
    public void FilesOf_OnlyStepsThatRanOrWouldRun()
    {
        var plan = HypervisorRename.Plan("pve-old", "pve-fra1-a", Standalone);
        BootstrapStepResult R(BootstrapStepState s) => new() { State = s };
        var files = HypervisorRename.FilesOf(plan, [R(BootstrapStepState.Done), R(BootstrapStepState.Unchanged), R(BootstrapStepState.Done), R(BootstrapStepState.NotApplicable)]);
        Assert.Equal(["/etc/hosts", .. plan[2].Files], files);
        Assert.Empty(HypervisorRename.FilesOf(plan, [R(BootstrapStepState.Unchanged), R(BootstrapStepState.Unchanged), R(BootstrapStepState.Unchanged), R(BootstrapStepState.NotApplicable)]));
    }

    [Theory]
    [InlineData("pve.example.net")]
    [InlineData("pve;reboot")]
    [InlineData("-pve")]
    public void ValidateNodeName_RefusesDotsAndBadNames(string name) =>
        Assert.Equal("HostnameInvalid", Assert.Throws<RelocationException>(() => HypervisorRename.ValidateNodeName(name)).ErrorId);

    [Fact]
    public void EstatePinRow_ChecksTheNodeNameAndThePinnedCertificate()
    {
        using var key = RSA.Create(2048);
        using var cert = new CertificateRequest("CN=pve-new", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var pem = cert.ExportCertificatePem();
        var fp = ProxmoxEndpoint.FingerprintOf(cert);
        var loc = new SourceLocation("ops/infra-relocation.yaml", 24, 5);
        ProxmoxHostSettings Host(string node, params string[] pins) => new("pve-a", new Uri("https://pve:8006"), node, null, loc) { NodeFingerprints = pins };

        Assert.Equal(BootstrapStepState.Skipped, HypervisorRename.EstatePinRow("pve-a", 5, null, "pve-new", pem).State);
        var wrongNode = HypervisorRename.EstatePinRow("pve-a", 5, Host("pve-old"), "pve-new", pem);
        Assert.Equal(BootstrapStepState.Failed, wrongNode.State);
        Assert.Contains("ops/infra-relocation.yaml:24:5", wrongNode.Evidence, StringComparison.Ordinal);
        Assert.Equal(BootstrapStepState.Unchanged, HypervisorRename.EstatePinRow("pve-a", 5, Host("pve-new"), "pve-new", null).State);
        Assert.Equal(BootstrapStepState.Unchanged, HypervisorRename.EstatePinRow("pve-a", 5, Host("pve-new", fp.ToLowerInvariant()), "pve-new", pem).State);
        var stale = HypervisorRename.EstatePinRow("pve-a", 5, Host("pve-new", new string('A', 64)), "pve-new", pem);
        Assert.Equal(BootstrapStepState.Failed, stale.State);
        Assert.Contains(fp, stale.Evidence, StringComparison.Ordinal);
        Assert.Equal(BootstrapStepState.Failed, HypervisorRename.EstatePinRow("pve-a", 5, Host("pve-new", fp), "pve-new", "not a certificate").State);
    }
}
