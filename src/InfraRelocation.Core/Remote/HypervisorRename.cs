using InfraRelocation.Core.Ssh;
using InfraRelocation.Remote;

namespace InfraRelocation.Core.Remote;

/// <summary>What the survey found on the node, before anything changes (docs/design/hypervisor-rename.md).</summary>
/// <param name="ClusterConfigs">corosync.conf files present: the node is (or was) a cluster member.</param>
/// <param name="Guests">Guest configurations under the old node directory (qemu-server/*.conf, lxc/*.conf).</param>
/// <param name="NodeDirectoryFiles">Files under /etc/pve/nodes/&lt;old&gt;, relative to it; null when the directory does not exist.</param>
public sealed record HypervisorNodeSurvey(IReadOnlyList<string> ClusterConfigs, IReadOnlyList<string> Guests,
    IReadOnlyList<string>? NodeDirectoryFiles, bool NewDirectoryExists, bool HasPvecm)
{
    /// <summary>Mail files that name the old node (/etc/mailname, /etc/postfix/main.cf's myhostname or mydestination).</summary>
    public IReadOnlyList<string> MailFilesNamingOld { get; init; } = [];
    /// <summary>RRD paths of the old node that exist (<c>/var/lib/rrdcached/db/pve2-{node,storage}/&lt;old&gt;</c>).</summary>
    public IReadOnlyList<string> RrdPaths { get; init; } = [];
}

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
    public const string MailName = "/etc/mailname";
    public const string PostfixMainCf = "/etc/postfix/main.cf";
    /// <summary>Where rrdcached keeps a node's graphs (pve2-node/&lt;node&gt;, a file) and its storages' (pve2-storage/&lt;node&gt;/, a folder).</summary>
    public static readonly string[] RrdFolders = ["/var/lib/rrdcached/db/pve2-node", "/var/lib/rrdcached/db/pve2-storage"];

    // The old name as the first label of /etc/mailname (the mail domain of the node: the name or its FQDN).
    private static string MailNamePattern(string name) => $"^{name}([.[:space:]]|$)";

    // The old name as a host (or the first label of an FQDN) on postfix's myhostname or mydestination line.
    private static string PostfixPattern(string name) => $"^([[:space:]]*(myhostname|mydestination)[[:space:]]*=(.*[,[:space:]])?){name}([.,[:space:]]|$)";
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
            $"grep -Eq {ShellQuote.Single(MailNamePattern(oldName))} {MailName} 2>/dev/null && echo IR_MAIL={MailName}",
            $"grep -Eq {ShellQuote.Single(PostfixPattern(oldName))} {PostfixMainCf} 2>/dev/null && echo IR_MAIL={PostfixMainCf}",
            $"for d in {string.Join(' ', RrdFolders)}; do [ -e \"$d/{oldName}\" ] && echo \"IR_RRD=$d/{oldName}\"; done",
            "true");
    }

    public static HypervisorNodeSurvey ParseSurvey(string stdout)
    {
        var lines = stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        IReadOnlyList<string> Tagged(string tag) => lines.Where(l => l.StartsWith(tag + "=", StringComparison.Ordinal)).Select(l => l[(tag.Length + 1)..]).ToList();
        return new HypervisorNodeSurvey(Tagged("IR_CLUSTER"), Tagged("IR_GUEST"),
            lines.Contains("IR_NODEDIR=1") ? Tagged("IR_NODEFILE") : null, lines.Contains("IR_NEWDIR=1"), lines.Contains("IR_PVECM=1"))
        {
            MailFilesNamingOld = Tagged("IR_MAIL"), RrdPaths = Tagged("IR_RRD"),
        };
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

        // The node's mail name and postfix's own names (Proxmox's rename lists them): the old name as a label, rewritten in place.
        steps.Add(new(new BootstrapStep($"mail:{MailName}",
            oldName == newName ? "true" : $"! grep -Eq {ShellQuote.Single(MailNamePattern(oldName))} {MailName}",
            $"sed -i -E {ShellQuote.Single($"s/^{oldName}([.[:space:]]|$)/{newName}\\1/")} {MailName}")
        {
            AppliesCheck = $"[ -e {MailName} ]",
            NotApplicableReason = $"{MailName} is not present: no mail name to change",
        }, survey.MailFilesNamingOld.Contains(MailName) ? [MailName] : []));
        steps.Add(new(new BootstrapStep($"mail:{PostfixMainCf}",
            oldName == newName ? "true" : $"! grep -Eq {ShellQuote.Single(PostfixPattern(oldName))} {PostfixMainCf}",
            // One name at a time until none is left (the loop), only on the myhostname and mydestination lines.
            $"sed -i -E -e ':a' -e {ShellQuote.Single($"s/{PostfixPattern(oldName)}/\\1{newName}\\4/")} -e 'ta' {PostfixMainCf}")
        {
            AppliesCheck = $"[ -e {PostfixMainCf} ]",
            NotApplicableReason = $"{PostfixMainCf} is not present: no postfix names to change",
        }, survey.MailFilesNamingOld.Contains(PostfixMainCf) ? [PostfixMainCf] : []));

        var moved = (survey.NodeDirectoryFiles ?? []).Select(f => $"{oldDir}/{f} → {newDir}/{f}").ToList();
        steps.Add(new(new BootstrapStep("pve:node-directory",
            oldName == newName ? $"[ -d {newDir} ]" : $"[ -d {newDir} ] && [ ! -e {oldDir} ]",
            $"mv -T {oldDir} {newDir}")
        {
            Hint = $"{newDir} must not exist yet (a pmxcfs restarted under the new name creates it: move the files of {oldDir} into it by hand)",
        }, moved.Count > 0 ? moved : [$"{oldDir} → {newDir}"]));

        // The node's graphs: rrdcached writes them under the node name, so they move with it (stopped meanwhile, where it runs).
        var rrd = RrdFolders.Select(d => ($"{d}/{oldName}", $"{d}/{newName}")).ToList();
        steps.Add(new(new BootstrapStep("pve:rrd",
            oldName == newName ? "true" : string.Join(" && ", rrd.Select(r => $"[ ! -e {r.Item1} ]")),
            "if systemctl is-active --quiet rrdcached 2>/dev/null; then systemctl stop rrdcached; trap 'systemctl start rrdcached' EXIT; fi; " +
            string.Join("; ", rrd.Select(r => $"if [ -e {r.Item1} ]; then [ ! -e {r.Item2} ] || {{ echo '{r.Item2} exists already' >&2; exit 1; }}; mv -T {r.Item1} {r.Item2}; fi")))
        {
            AppliesCheck = oldName == newName ? null : string.Join(" || ", rrd.Select(r => $"[ -e {r.Item1} ]")),
            NotApplicableReason = $"no RRD files of '{oldName}' are present ({string.Join(", ", rrd.Select(r => r.Item1))}): no graphs to move",
        }, rrd.Where(r => survey.RrdPaths.Contains(r.Item1)).Select(r => $"{r.Item1} → {r.Item2}").ToList()));

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
}
