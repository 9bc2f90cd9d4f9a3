using System.Security.Cryptography.X509Certificates;
using InfraRelocation.Core.Proxmox;
using InfraRelocation.Core.Ssh;
using InfraRelocation.Remote;

namespace InfraRelocation.Core.Remote;

/// <summary>What the survey found on the node, before anything changes (docs/design/hypervisor-rename.md).</summary>
/// <param name="ClusterConfigs">corosync.conf files present: the node is (or was) a cluster member.</param>
/// <param name="Guests">Guest configurations under the old node directory (qemu-server/*.conf, lxc/*.conf).</param>
/// <param name="NodeDirectoryFiles">Files under /etc/pve/nodes/&lt;old&gt;, relative to it; null when the directory does not exist.</param>
public sealed record HypervisorNodeSurvey(IReadOnlyList<string> ClusterConfigs, IReadOnlyList<string> Guests,
    IReadOnlyList<string>? NodeDirectoryFiles, bool NewDirectoryExists, bool HasPvecm);

/// <summary>One step of the rename with the files it writes when it runs (the receipt lists them per step).</summary>
public sealed record RenameStep(BootstrapStep Step, IReadOnlyList<string> Files);

/// <summary>
/// Proxmox's documented rename of a standalone node (https://pve.proxmox.com/wiki/Renaming_a_PVE_node), as steps for
/// the bootstrap step runner: /etc/hosts, the hostname, the node directory under /etc/pve/nodes, the node certificate
/// (<c>pvecm updatecerts --force</c>). Each step's check verifies its part afterwards, so a re-run resumes and a node
/// already renamed is Unchanged. Refuses a cluster member and a node with guests (<see cref="Refusal"/>).
/// </summary>
public static class HypervisorRename
{
    public const string NodesDirectory = "/etc/pve/nodes";
    public static readonly string[] ClusterConfigFiles = ["/etc/pve/corosync.conf", "/etc/corosync/corosync.conf"];

    /// <summary>A Proxmox node name: one DNS label (pmxcfs uses the short host name as the node name).</summary>
    public static void ValidateNodeName(string name)
    {
        HypervisorProbe.ValidateHostname(name);
        if (name.Contains('.', StringComparison.Ordinal))
            throw new RelocationException("HostnameInvalid", FailureKind.InvalidArgument,
                $"'{name}' is not a valid Proxmox node name: it is one label without dots (the domain stays in /etc/hosts).", target: name);
    }

    /// <summary>One read-only command: cluster configs, guests and files of the old node directory, pvecm.</summary>
    public static string SurveyCommand(string oldName, string newName)
    {
        var dir = $"{NodesDirectory}/{oldName}";
        return string.Join("; ",
            $"for f in {string.Join(' ', ClusterConfigFiles)}; do [ -e \"$f\" ] && echo \"IR_CLUSTER=$f\"; done",
            $"for f in {dir}/qemu-server/*.conf {dir}/lxc/*.conf; do [ -e \"$f\" ] && echo \"IR_GUEST=$f\"; done",
            $"if [ -d {dir} ]; then echo IR_NODEDIR=1; (cd {dir} && find . -type f | sed 's|^\\./|IR_NODEFILE=|' | sort); fi",
            $"[ -e {NodesDirectory}/{newName} ] && echo IR_NEWDIR=1",
            "command -v pvecm >/dev/null 2>&1 && echo IR_PVECM=1",
            "true");
    }

    public static HypervisorNodeSurvey ParseSurvey(string stdout)
    {
        var lines = stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        IReadOnlyList<string> Tagged(string tag) => lines.Where(l => l.StartsWith(tag + "=", StringComparison.Ordinal)).Select(l => l[(tag.Length + 1)..]).ToList();
        return new HypervisorNodeSurvey(Tagged("IR_CLUSTER"), Tagged("IR_GUEST"),
            lines.Contains("IR_NODEDIR=1") ? Tagged("IR_NODEFILE") : null, lines.Contains("IR_NEWDIR=1"), lines.Contains("IR_PVECM=1"));
    }

    /// <summary>
    /// Why the rename must not run, or null: a cluster member (renaming one is unsupported by Proxmox), guests on the
    /// node (their configs and the storage and HA references that name the node would have to move too), no node
    /// directory (pmxcfs is not mounted, or this is not a Proxmox node).
    /// </summary>
    public static RelocationException? Refusal(string hostId, string oldName, string newName, HypervisorNodeSurvey survey)
    {
        if (survey.ClusterConfigs.Count > 0)
            return new RelocationException("HypervisorRenameClustered", FailureKind.InvalidOperation,
                $"Refusing to rename {hostId}: it is a cluster member ({string.Join(", ", survey.ClusterConfigs)} exists) and Proxmox does not support " +
                "renaming a cluster member. Remove it from the cluster (pvecm delnode) and rejoin it under the new name, or leave its name. Nothing was changed.",
                target: hostId);
        if (oldName == newName) return null;
        if (survey.Guests.Count > 0)
            return new RelocationException("HypervisorRenameHasGuests", FailureKind.InvalidOperation,
                $"Refusing to rename {hostId} from '{oldName}' to '{newName}': it has {survey.Guests.Count} guest(s) ({string.Join(", ", survey.Guests)}). " +
                "Migrate them to another node (or back them up and remove them) first. Nothing was changed.", target: hostId);
        if (survey.NodeDirectoryFiles is null && !survey.NewDirectoryExists)
            return new RelocationException("HypervisorRenameNotANode", FailureKind.InvalidOperation,
                $"Refusing to rename {hostId}: {NodesDirectory}/{oldName} does not exist, so pmxcfs is not mounted there or it is not a Proxmox node " +
                $"named '{oldName}'. Start pve-cluster (or check the host), then re-run. Nothing was changed.", target: hostId);
        return null;
    }

    /// <summary>The steps, in order; <paramref name="oldName"/> equal to <paramref name="newName"/> plans only checks that pass on a renamed node.</summary>
    public static IReadOnlyList<RenameStep> Plan(string oldName, string newName, HypervisorNodeSurvey survey)
    {
        ValidateNodeName(oldName);
        ValidateNodeName(newName);
        var n = ShellQuote.Single(newName);
        var (oldDir, newDir) = ($"{NodesDirectory}/{oldName}", $"{NodesDirectory}/{newName}");
        // A name as a field of a non-comment line of /etc/hosts, alone or as the first label of an FQDN.
        string Field(string name) => ShellQuote.Single($"^[^#]*[[:space:]]{name}([.[:space:]]|$)");
        var steps = new List<RenameStep>();

        steps.Add(new(new BootstrapStep("hosts:/etc/hosts",
            oldName == newName ? $"grep -Eq {Field(newName)} /etc/hosts" : $"! grep -Eq {Field(oldName)} /etc/hosts && grep -Eq {Field(newName)} /etc/hosts",
            $"grep -Eq {Field(oldName)} /etc/hosts || {{ echo \"/etc/hosts has no line for {oldName}\" >&2; exit 1; }}; " +
            // One name at a time until none is left (the loop), on lines that are not comments; the layout is kept.
            $"sed -i -E -e '/^[[:space:]]*#/!{{' -e ':a' -e 's/([[:space:]]){oldName}([.[:space:]]|$)/\\1{newName}\\2/' -e 'ta' -e '}}' /etc/hosts")
        {
            Hint = $"the node name must resolve to the node's address through /etc/hosts (pmxcfs does not start otherwise): add a line '<address> <fqdn> {newName}'",
        }, ["/etc/hosts"]));

        steps.Add(new(new BootstrapStep("hostname:/etc/hostname",
            $"[ \"$(cat /etc/hostname 2>/dev/null)\" = {n} ] && [ \"$(uname -n)\" = {n} ]",
            HypervisorProbe.SetHostnameCommand(newName)), ["/etc/hostname"]));

        var moved = (survey.NodeDirectoryFiles ?? []).Select(f => $"{oldDir}/{f} → {newDir}/{f}").ToList();
        steps.Add(new(new BootstrapStep("pve:node-directory",
            oldName == newName ? $"[ -d {newDir} ]" : $"[ -d {newDir} ] && [ ! -e {oldDir} ]",
            $"mv -T {oldDir} {newDir}")
        {
            Hint = $"{newDir} must not exist yet (a pmxcfs restarted under the new name creates it: move the files of {oldDir} into it by hand)",
        }, moved.Count > 0 ? moved : [$"{oldDir} → {newDir}"]));

        steps.Add(new(new BootstrapStep("pve:certificates",
            $"openssl x509 -noout -ext subjectAltName -in {newDir}/pve-ssl.pem 2>/dev/null | grep -Eq {ShellQuote.Single($"DNS:{newName}(,|$)")}",
            "systemctl restart pve-cluster && pvecm updatecerts --force && systemctl restart pveproxy")
        {
            AppliesCheck = "command -v pvecm >/dev/null 2>&1",
            NotApplicableReason = $"pvecm is not installed here, so this is not a Proxmox VE node: {newDir}/pve-ssl.pem was NOT regenerated " +
                                  $"for '{newName}' (on a Proxmox VE node this step runs 'pvecm updatecerts --force')",
        }, survey.HasPvecm ? [$"{newDir}/pve-ssl.pem", $"{newDir}/pve-ssl.key"] : []));   // without pvecm the step does not apply: -WhatIf lists no certificate
        return steps;
    }

    /// <summary>The files of the steps that changed something (Done) or, under -WhatIf, would (Planned), in step order.</summary>
    public static IReadOnlyList<string> FilesOf(IReadOnlyList<RenameStep> plan, IReadOnlyList<BootstrapStepResult> results) =>
        plan.Zip(results).Where(p => p.Second.State is BootstrapStepState.Done or BootstrapStepState.Planned)
            .SelectMany(p => p.First.Files).ToList();

    /// <summary>The command that prints the node certificate (PEM) the estate's <c>node_fingerprint</c> pins.</summary>
    public static string NodeCertificateCommand(string newName) => $"cat {NodesDirectory}/{newName}/pve-ssl.pem";

    /// <summary>
    /// The estate's side of the rename (a row after the remote steps): <c>proxmox.hosts.&lt;id&gt;.node</c> must name the
    /// new node, and a pinned <c>node_fingerprint</c> must match the node certificate after the rename
    /// (<paramref name="certificatePem"/>; null when it could not be read). The estate is not rewritten here: a
    /// mismatch is a Failed row that says what to change, where.
    /// </summary>
    public static BootstrapStepResult EstatePinRow(string hostname, int order, ProxmoxHostSettings? host, string newName, string? certificatePem)
    {
        var row = new BootstrapStepResult { Hostname = hostname, Order = order, Step = "estate:proxmox-node" };
        if (host is null)
            return row with { State = BootstrapStepState.Skipped, Evidence = "the estate has no proxmox.hosts entry for this host: no node name or fingerprint to keep" };
        var where = host.Location?.ToString() ?? "proxmox.hosts";
        if (host.Node != newName)
            return row with { State = BootstrapStepState.Failed, Evidence = $"the estate names node '{host.Node}' ({where}): set node: \"{newName}\" there" };
        if (host.NodeFingerprints.Count == 0)
            return row with { State = BootstrapStepState.Unchanged, Evidence = $"the estate names node '{newName}' and pins no node fingerprint" };
        var unreadable = row with { State = BootstrapStepState.Failed, Evidence = $"cannot read {NodesDirectory}/{newName}/pve-ssl.pem to compare it with the pinned node_fingerprint ({where})" };
        if (string.IsNullOrWhiteSpace(certificatePem)) return unreadable;
        string actual;
        try
        {
            using var cert = X509Certificate2.CreateFromPem(certificatePem);
            actual = ProxmoxEndpoint.FingerprintOf(cert);
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            return unreadable;
        }
        var pins = new ProxmoxEndpoint(new Uri("https://node.invalid"), host.NodeFingerprints);
        return pins.IsPinned(actual)
            ? row with { State = BootstrapStepState.Unchanged, Evidence = $"the estate's node_fingerprint ({where}) matches the node certificate {actual}" }
            : row with { State = BootstrapStepState.Failed, Evidence = $"the node certificate is now {actual}, not the pinned node_fingerprint ({where}): pin the new one there" };
    }
}
