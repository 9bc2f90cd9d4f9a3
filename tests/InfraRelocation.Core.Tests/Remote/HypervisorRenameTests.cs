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
        Assert.Equal(["hosts:/etc/hosts", "hostname:/etc/hostname", "mail:/etc/mailname", "mail:/etc/postfix/main.cf", "pve:node-directory", "pve:rrd", "pve:certificates"],
            plan.Select(p => p.Step.Name));
        var directory = plan[4];
        Assert.Equal("mv -T /etc/pve/nodes/pve-old /etc/pve/nodes/pve-fra1-a", directory.Step.Run);
        Assert.Contains("/etc/pve/nodes/pve-old/pve-ssl.pem → /etc/pve/nodes/pve-fra1-a/pve-ssl.pem", directory.Files);
        var certificates = plan[6];
        Assert.Contains("pvecm updatecerts --force", certificates.Step.Run, StringComparison.Ordinal);
        Assert.Equal("command -v pvecm >/dev/null 2>&1", certificates.Step.AppliesCheck);
        Assert.Contains("NOT regenerated", certificates.Step.NotApplicableReason, StringComparison.Ordinal);
        Assert.Empty(certificates.Files);
        Assert.Equal(["/etc/pve/nodes/pve-fra1-a/pve-ssl.pem", "/etc/pve/nodes/pve-fra1-a/pve-ssl.key"],
            HypervisorRename.Plan("pve-old", "pve-fra1-a", Standalone with { HasPvecm = true })[6].Files);
    }

    [Fact]
    public void Plan_MailAndGraphs_ListedOnlyWhereTheSurveyFoundTheOldName()
    {
        var absent = HypervisorRename.Plan("pve-old", "pve-new", Standalone);
        Assert.Empty(absent[2].Files);
        Assert.Empty(absent[3].Files);
        Assert.Empty(absent[5].Files);
        Assert.Contains("not present", absent[2].Step.NotApplicableReason, StringComparison.Ordinal);
        Assert.Contains("not present", absent[3].Step.NotApplicableReason, StringComparison.Ordinal);
        Assert.Contains("are present", absent[5].Step.NotApplicableReason, StringComparison.Ordinal);

        var present = HypervisorRename.Plan("pve-old", "pve-new", Standalone with
        {
            MailFilesNamingOld = ["/etc/mailname", "/etc/postfix/main.cf"],
            RrdPaths = ["/var/lib/rrdcached/db/pve2-node/pve-old", "/var/lib/rrdcached/db/pve2-storage/pve-old"],
        });
        Assert.Equal(["/etc/mailname"], present[2].Files);
        Assert.Equal(["/etc/postfix/main.cf"], present[3].Files);
        Assert.Equal(["/var/lib/rrdcached/db/pve2-node/pve-old → /var/lib/rrdcached/db/pve2-node/pve-new",
            "/var/lib/rrdcached/db/pve2-storage/pve-old → /var/lib/rrdcached/db/pve2-storage/pve-new"], present[5].Files);
        // Renamed already: nothing left to check by the old name.
        var renamed = HypervisorRename.Plan("pve-new", "pve-new", Standalone);
        Assert.Equal("true", renamed[5].Step.Check);
        Assert.Null(renamed[5].Step.AppliesCheck);
    }

    [Fact]
    public void ParseSurvey_ReadsMailFilesAndGraphs()
    {
        var s = HypervisorRename.ParseSurvey("IR_NODEDIR=1\nIR_MAIL=/etc/postfix/main.cf\nIR_RRD=/var/lib/rrdcached/db/pve2-node/pve-old\n");
        Assert.Equal(["/etc/postfix/main.cf"], s.MailFilesNamingOld);
        Assert.Equal(["/var/lib/rrdcached/db/pve2-node/pve-old"], s.RrdPaths);
    }

    [Fact]
    public void FilesOf_OnlyStepsThatRanOrWouldRun()
    {
        var plan = HypervisorRename.Plan("pve-old", "pve-fra1-a", Standalone);
        BootstrapStepResult R(BootstrapStepState s) => new() { State = s };
        var files = HypervisorRename.FilesOf(plan, [R(BootstrapStepState.Done), R(BootstrapStepState.Unchanged), R(BootstrapStepState.NotApplicable), R(BootstrapStepState.NotApplicable),
            R(BootstrapStepState.Done), R(BootstrapStepState.NotApplicable), R(BootstrapStepState.NotApplicable)]);
        Assert.Equal(["/etc/hosts", .. plan[4].Files], files);
        Assert.Empty(HypervisorRename.FilesOf(plan, [.. Enumerable.Repeat(R(BootstrapStepState.Unchanged), 6), R(BootstrapStepState.NotApplicable)]));
    }

    [Theory]
    [InlineData("pve.example.net")]
    [InlineData("pve;reboot")]
    [InlineData("-pve")]
    public void ValidateNodeName_RefusesDotsAndBadNames(string name) =>
        Assert.Equal("HostnameInvalid", Assert.Throws<RelocationException>(() => HypervisorRename.ValidateNodeName(name)).ErrorId);
}
