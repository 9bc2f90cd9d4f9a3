using System.Text.RegularExpressions;
using InfraRelocation.Core.Concurrency;

namespace InfraRelocation.Core.Ssh;

/// <summary>What a host says about itself. <see cref="MachineId"/> is null when neither file exists.</summary>
/// <param name="Hostname">Short hostname (<c>hostname -s</c>, fallback <c>uname -n</c>).</param>
/// <param name="NodeName">The full kernel node name (<c>uname -n</c>), what <c>hostname NAME</c> sets.</param>
/// <param name="Fqdn"><c>hostname -f</c>, falling back to the short name.</param>
public sealed record HypervisorIdentity(string EndpointId, string Hostname, string NodeName, string Fqdn, string? MachineId);

/// <summary>Outcome of <see cref="HypervisorProbe.SetHostnameAsync"/>.</summary>
/// <param name="Method"><c>hostnamectl</c>, <c>fallback</c> (wrote /etc/hostname + <c>hostname</c>) or <c>none</c> (already set).</param>
public sealed record HostnameChange(HypervisorIdentity Before, HypervisorIdentity After, string Method)
{
    public bool Changed => Method != "none";
}

/// <summary>Reads and sets hypervisor identity over SSH (one command per read, tagged output lines).</summary>
public sealed partial class HypervisorProbe(SshSessionPool pool)
{
    internal const string ProbeCommand =
        "h=$(hostname -s 2>/dev/null); [ -n \"$h\" ] || h=$(uname -n); n=$(uname -n); " +
        "if command -v timeout >/dev/null 2>&1; then f=$(timeout 5 hostname -f 2>/dev/null); else f=$(hostname -f 2>/dev/null); fi; " +
        "[ -n \"$f\" ] || f=$h; " +
        "m=$(cat /etc/machine-id 2>/dev/null); [ -n \"$m\" ] || m=$(cat /var/lib/dbus/machine-id 2>/dev/null); [ -n \"$m\" ] || m=unknown; " +
        "printf 'IR_HOSTNAME=%s\\nIR_NODENAME=%s\\nIR_FQDN=%s\\nIR_MACHINE_ID=%s\\n' \"$h\" \"$n\" \"$f\" \"$m\"";

    /// <summary>Reads short hostname, node name, FQDN and machine-id in one command.</summary>
    public async Task<HypervisorIdentity> ReadIdentityAsync(SshEndpoint endpoint, CancellationToken cancellationToken = default)
    {
        var r = (await pool.RunAsync(endpoint, ProbeCommand, cancellationToken: cancellationToken).ConfigureAwait(false)).EnsureSuccess();
        return ParseIdentity(endpoint.Id, r.Stdout);
    }

    /// <summary>
    /// Reads many hosts' identities, at most <paramref name="maxParallelism"/> at a time, results in input order;
    /// an unreachable host is a failed item (its RelocationException), not a failure of the whole call.
    /// </summary>
    public Task<IReadOnlyList<FanOutResult<SshEndpoint, HypervisorIdentity>>> ReadIdentitiesAsync(IReadOnlyList<SshEndpoint> endpoints,
        int maxParallelism = BoundedParallel.DefaultParallelism, CancellationToken cancellationToken = default)
        => BoundedParallel.ForEachAsync(endpoints, ReadIdentityAsync, maxParallelism, cancellationToken);

    internal static HypervisorIdentity ParseIdentity(string endpointId, string stdout)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in stdout.Split('\n'))
        {
            var eq = line.IndexOf('=');
            if (line.StartsWith("IR_", StringComparison.Ordinal) && eq > 0) tags[line[..eq]] = line[(eq + 1)..].Trim();
        }
        string Tag(string name) => tags.TryGetValue(name, out var v) && v.Length > 0 ? v
            : throw new RelocationException("HypervisorProbeInvalid", FailureKind.InvalidData,
                $"Identity probe on {endpointId} returned no {name} line. Output: {Truncate(stdout)}", target: endpointId);
        var machineId = Tag("IR_MACHINE_ID");
        return new HypervisorIdentity(endpointId, Tag("IR_HOSTNAME"), Tag("IR_NODENAME"), Tag("IR_FQDN"),
            machineId == "unknown" ? null : machineId.ToLowerInvariant());
    }

    /// <summary>
    /// Reads the identity and fails with <c>HypervisorMachineIdMismatch</c> (SecurityError) unless the machine-id
    /// equals <paramref name="expectedMachineId"/> (when given). Use before any mutation, and in dry-runs.
    /// </summary>
    public async Task<HypervisorIdentity> AssertIdentityAsync(SshEndpoint endpoint, string? expectedMachineId,
        CancellationToken cancellationToken = default)
    {
        var id = await ReadIdentityAsync(endpoint, cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrWhiteSpace(expectedMachineId)
            && !string.Equals(id.MachineId, expectedMachineId.Trim(), StringComparison.OrdinalIgnoreCase))
            throw new RelocationException("HypervisorMachineIdMismatch", FailureKind.SecurityError,
                $"Refusing to touch {endpoint}: its machine-id is {id.MachineId ?? "unknown"} but {expectedMachineId.Trim()} is pinned " +
                $"(reported hostname '{id.Hostname}'). This is not the expected host.", target: endpoint.Id);
        return id;
    }

    /// <summary>
    /// Sets the hostname: <c>hostnamectl set-hostname</c>, falling back to writing /etc/hostname and running
    /// <c>hostname</c>. Validates the name, checks the pinned machine-id first, skips when already set, and
    /// re-reads afterwards (<c>HostnameNotApplied</c> if the host does not report the new name).
    /// Does not touch /etc/hosts or Proxmox node directories.
    /// </summary>
    public async Task<HostnameChange> SetHostnameAsync(SshEndpoint endpoint, string hostname, string? expectedMachineId,
        CancellationToken cancellationToken = default)
    {
        ValidateHostname(hostname);
        var before = await AssertIdentityAsync(endpoint, expectedMachineId, cancellationToken).ConfigureAwait(false);
        if (before.NodeName == hostname) return new HostnameChange(before, before, "none");

        var r = (await pool.RunAsync(endpoint, SetHostnameCommand(hostname), cancellationToken: cancellationToken).ConfigureAwait(false)).EnsureSuccess();
        var method = r.Stdout.Contains("IR_METHOD=hostnamectl", StringComparison.Ordinal) ? "hostnamectl" : "fallback";

        var after = await ReadIdentityAsync(endpoint, cancellationToken).ConfigureAwait(false);
        if (after.NodeName != hostname)
            throw new RelocationException("HostnameNotApplied", FailureKind.InvalidOperation,
                $"Set hostname '{hostname}' on {endpoint} via {method}, but the host now reports '{after.NodeName}'.", target: endpoint.Id);
        return new HostnameChange(before, after, method);
    }

    /// <summary>
    /// Sets the hostname with <c>hostnamectl set-hostname</c>, else writes /etc/hostname and runs <c>hostname</c>;
    /// prints <c>IR_METHOD=hostnamectl|fallback</c>. The name must be valid (<see cref="ValidateHostname"/>).
    /// </summary>
    public static string SetHostnameCommand(string hostname)
    {
        ValidateHostname(hostname);
        var q = $"'{hostname}'"; // validated: letters, digits, dots, hyphens only
        return $"if command -v hostnamectl >/dev/null 2>&1 && hostnamectl set-hostname {q} >/dev/null 2>&1; then echo IR_METHOD=hostnamectl; " +
               $"else printf '%s\\n' {q} > /etc/hostname && hostname {q} && echo IR_METHOD=fallback; fi";
    }

    /// <summary>Throws <c>HostnameInvalid</c> unless <paramref name="name"/> is a valid RFC 1123 host name.</summary>
    public static void ValidateHostname(string? name)
    {
        string? why = null;
        if (string.IsNullOrEmpty(name)) why = "it is empty";
        else if (!AllowedChars().IsMatch(name)) why = "only letters, digits, '.' and '-' are allowed";
        else if (name.Length > 253) why = "it is longer than 253 characters";
        else
        {
            foreach (var label in name.Split('.'))
            {
                if (label.Length == 0) { why = "it has an empty label (leading, trailing or double dot)"; break; }
                if (label.Length > 63) { why = $"label '{label}' is longer than 63 characters"; break; }
                if (label[0] == '-' || label[^1] == '-') { why = $"label '{label}' starts or ends with '-'"; break; }
            }
        }
        if (why is not null)
            throw new RelocationException("HostnameInvalid", FailureKind.InvalidArgument, $"'{name}' is not a valid host name: {why}.", target: name);
    }

    [GeneratedRegex("^[A-Za-z0-9.-]+$")]
    private static partial Regex AllowedChars();

    private static string Truncate(string s) => s.Length <= 300 ? s : s[..300] + "…";
}
