using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace InfraRelocation.Core.Proxmox;

/// <summary>
/// Typed client for the Proxmox VE REST API (<c>/api2/json</c>) over HttpClient.
/// TLS: normal validation, else the pinned SHA-256 leaf fingerprint; never "accept anything".
/// Auth: API token header, or ticket cookie + CSRF header (renewed after an hour).
/// </summary>
public sealed class ProxmoxClient : IDisposable
{
    private static readonly TimeSpan TicketRenewAfter = TimeSpan.FromHours(1);

    private readonly HttpClient _http;
    private readonly ProxmoxCredentials _credentials;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _loginLock = new(1, 1);
    private string? _ticket;
    private string? _csrf;
    private DateTimeOffset _ticketIssued;
    private string? _lastRejectedFingerprint;

    public ProxmoxClient(ProxmoxEndpoint endpoint, ProxmoxCredentials credentials, TimeSpan? requestTimeout = null, TimeProvider? time = null)
    {
        Endpoint = endpoint ?? throw new ArgumentNullException(nameof(endpoint));
        _credentials = credentials ?? throw new ArgumentNullException(nameof(credentials));
        _time = time ?? TimeProvider.System;
        var handler = new SocketsHttpHandler
        {
            UseCookies = false,
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = ValidateCertificate },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri(endpoint.BaseUri, "api2/json/"), Timeout = requestTimeout ?? TimeSpan.FromSeconds(60) };
    }

    public ProxmoxEndpoint Endpoint { get; }

    /// <summary>The token id or user name (never the secret), for messages.</summary>
    public string Principal => _credentials switch
    {
        ProxmoxApiToken t => t.TokenId,
        ProxmoxPasswordCredentials p => p.Username,
        _ => "?",
    };

    private bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None) return true;
        if (certificate is null) return false;
        using var cert = new X509Certificate2(certificate);
        var actual = ProxmoxEndpoint.FingerprintOf(cert);
        if (Endpoint.IsPinned(actual))
        {
            return true;
        }
        _lastRejectedFingerprint = actual;
        return false;
    }

    // ---------------------------------------------------------------- transport

    /// <summary>Sends one request and returns the <c>data</c> member (cloned) of the answer.</summary>
    public async Task<JsonElement> SendAsync(HttpMethod method, string path, IEnumerable<KeyValuePair<string, string>>? parameters = null,
        CancellationToken cancellationToken = default)
    {
        var (data, _) = await SendWithTotalAsync(method, path, parameters, cancellationToken).ConfigureAwait(false);
        return data;
    }

    private async Task<(JsonElement Data, int? Total)> SendWithTotalAsync(HttpMethod method, string path,
        IEnumerable<KeyValuePair<string, string>>? parameters, CancellationToken ct, bool retriedLogin = false)
    {
        var list = parameters?.ToList() ?? [];
        if (_credentials is ProxmoxPasswordCredentials) await EnsureTicketAsync(ct).ConfigureAwait(false);
        try
        {
            return await SendOnceAsync(method, path, list, ct).ConfigureAwait(false);
        }
        catch (ProxmoxApiException e) when (e.StatusCode == HttpStatusCode.Unauthorized && _credentials is ProxmoxPasswordCredentials && !retriedLogin)
        {
            _ticket = null; // the ticket expired or the server restarted: log in once more
            return await SendWithTotalAsync(method, path, list, ct, retriedLogin: true).ConfigureAwait(false);
        }
    }

    private async Task<(JsonElement Data, int? Total)> SendOnceAsync(HttpMethod method, string path,
        List<KeyValuePair<string, string>> parameters, CancellationToken ct, bool anonymous = false)
    {
        path = path.TrimStart('/');
        var bodyAllowed = method == HttpMethod.Post || method == HttpMethod.Put;
        var uri = path;
        if (!bodyAllowed && parameters.Count > 0)
            uri += "?" + string.Join('&', parameters.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
        using var request = new HttpRequestMessage(method, uri);
        if (bodyAllowed) request.Content = new FormUrlEncodedContent(parameters);
        if (!anonymous) AddAuthentication(request, method);

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (TaskCanceledException e)
        {
            throw new RelocationException("ProxmoxRequestTimeout", FailureKind.OperationTimeout,
                $"Proxmox {method} /{path} at {Endpoint.BaseUri} did not answer within {_http.Timeout.TotalSeconds:0} s.", target: path, inner: e);
        }
        catch (HttpRequestException e) when (e.InnerException is AuthenticationException && _lastRejectedFingerprint is { } actual)
        {
            var expected = Endpoint.CertificateFingerprints.Count == 0 ? null : string.Join(" or ", Endpoint.CertificateFingerprints);
            throw new RelocationException(expected is null ? "ProxmoxCertificateUntrusted" : "ProxmoxCertificateMismatch", FailureKind.SecurityError,
                expected is null
                    ? $"The certificate of {Endpoint.BaseUri} is not trusted and no fingerprint is pinned; its SHA-256 fingerprint is {actual}. Pin it if you trust it."
                    : $"The certificate of {Endpoint.BaseUri} does not match the pinned fingerprint: expected {expected}, actual {actual}.",
                target: Endpoint.BaseUri);
        }
        catch (HttpRequestException e)
        {
            throw new RelocationException("ProxmoxUnreachable", FailureKind.ConnectionError,
                $"Cannot reach Proxmox at {Endpoint.BaseUri} ({method} /{path}): {e.Message}", target: path, inner: e);
        }

        using (response)
        {
            string body;
            try
            {
                body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                throw new RelocationException("ProxmoxUnreachable", FailureKind.ConnectionError,
                    $"The connection to Proxmox at {Endpoint.BaseUri} broke while reading {method} /{path}.", target: path, inner: e);
            }
            JsonElement root = default;
            var parsed = false;
            if (body.Length > 0)
            {
                try { root = JsonDocument.Parse(body).RootElement.Clone(); parsed = root.ValueKind == JsonValueKind.Object; }
                catch (JsonException) { parsed = false; }
            }
            if (!response.IsSuccessStatusCode)
            {
                var errors = new Dictionary<string, string>(StringComparer.Ordinal);
                if (parsed && root.Prop("errors") is { ValueKind: JsonValueKind.Object } errs)
                    foreach (var p in errs.EnumerateObject()) errors[p.Name] = ProxmoxJson.AsString(p.Value)?.Trim() ?? "";
                var message = parsed ? root.Str("message") : null;
                throw ProxmoxApiException.Create(response.StatusCode, response.ReasonPhrase, message, errors,
                    method.Method, "/" + path.Split('?')[0], (_credentials as ProxmoxApiToken)?.TokenId);
            }
            if (!parsed)
            {
                throw new RelocationException("ProxmoxResponseInvalid", FailureKind.InvalidData,
                    $"Proxmox {method} /{path} answered {(int)response.StatusCode} without a JSON envelope.", target: path);
            }
            var data = root.TryGetProperty("data", out var d) ? d : default;
            var total = root.Long("total") is { } t ? (int)t : (int?)null;
            return (data, total);
        }
    }

    private void AddAuthentication(HttpRequestMessage request, HttpMethod method)
    {
        switch (_credentials)
        {
            case ProxmoxApiToken token:
                request.Headers.TryAddWithoutValidation("Authorization", $"PVEAPIToken={token.TokenId}={token.Secret.Reveal()}");
                break;
            case ProxmoxPasswordCredentials when _ticket is not null:
                request.Headers.TryAddWithoutValidation("Cookie", "PVEAuthCookie=" + Uri.EscapeDataString(_ticket));
                if (method != HttpMethod.Get && _csrf is not null) request.Headers.TryAddWithoutValidation("CSRFPreventionToken", _csrf);
                break;
        }
    }

    private async Task EnsureTicketAsync(CancellationToken ct)
    {
        if (_ticket is not null && _time.GetUtcNow() - _ticketIssued < TicketRenewAfter) return;
        await _loginLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_ticket is not null && _time.GetUtcNow() - _ticketIssued < TicketRenewAfter) return;
            var creds = (ProxmoxPasswordCredentials)_credentials;
            JsonElement data;
            try
            {
                // Renewal posts the current ticket as the password; a fresh login posts the password.
                (data, _) = await SendOnceAsync(HttpMethod.Post, "access/ticket",
                    [new("username", creds.Username), new("password", _ticket ?? creds.Password.Reveal())], ct, anonymous: true).ConfigureAwait(false);
            }
            catch (ProxmoxApiException e) when (e.StatusCode == HttpStatusCode.Unauthorized && _ticket is not null)
            {
                _ticket = null; // the old ticket was refused (expired): log in with the password
                (data, _) = await SendOnceAsync(HttpMethod.Post, "access/ticket",
                    [new("username", creds.Username), new("password", creds.Password.Reveal())], ct, anonymous: true).ConfigureAwait(false);
            }
            if (data.Bool("NeedTFA"))
            {
                throw new RelocationException("ProxmoxTfaRequired", FailureKind.AuthenticationError,
                    $"The Proxmox user {creds.Username} needs two-factor authentication; use an API token instead.", target: creds.Username);
            }
            // The ticket is a credential too: registered, so a server that echoes it has it masked.
            _ticket = Secrets.SecretMask.Register(data.Str("ticket") ?? throw new RelocationException("ProxmoxAuthenticationFailed", FailureKind.AuthenticationError,
                $"Proxmox did not return a ticket for {creds.Username}.", target: creds.Username));
            _csrf = data.Str("CSRFPreventionToken");
            _ticketIssued = _time.GetUtcNow();
        }
        catch (ProxmoxApiException e) when (e.StatusCode == HttpStatusCode.Unauthorized)
        {
            _ticket = null;
            throw new RelocationException("ProxmoxAuthenticationFailed", FailureKind.AuthenticationError,
                $"Proxmox at {Endpoint.BaseUri} refused the login of {((ProxmoxPasswordCredentials)_credentials).Username}.", target: Endpoint.BaseUri);
        }
        finally
        {
            _loginLock.Release();
        }
    }

    private static string E(string segment) => Uri.EscapeDataString(segment);
    private static string Vm(string node, int vmid) => $"nodes/{E(node)}/qemu/{vmid.ToString(CultureInfo.InvariantCulture)}";
    private static string I(long v) => v.ToString(CultureInfo.InvariantCulture);

    // ---------------------------------------------------------------- cluster / nodes

    public async Task<ProxmoxVersion> GetVersionAsync(CancellationToken ct = default)
    {
        var d = await SendAsync(HttpMethod.Get, "version", null, ct).ConfigureAwait(false);
        return new ProxmoxVersion(d.Str("version") ?? "", d.Str("release") ?? "", d.Str("repoid"));
    }

    public async Task<IReadOnlyList<ProxmoxNode>> GetNodesAsync(CancellationToken ct = default)
    {
        var d = await SendAsync(HttpMethod.Get, "nodes", null, ct).ConfigureAwait(false);
        return d.ValueKind != JsonValueKind.Array ? [] : d.EnumerateArray().Select(n => new ProxmoxNode(n.Str("node") ?? "", n.Str("status") ?? "unknown",
            n.Str("ssl_fingerprint"), n.Long("maxcpu"), n.Long("maxmem"), n.Long("uptime"))).ToList();
    }

    /// <summary>GET /cluster/resources, optionally filtered by type (vm, storage, node, sdn).</summary>
    public async Task<IReadOnlyList<ClusterResource>> GetClusterResourcesAsync(string? type = null, CancellationToken ct = default)
    {
        var d = await SendAsync(HttpMethod.Get, "cluster/resources", type is null ? null : [new("type", type)], ct).ConfigureAwait(false);
        return d.ValueKind != JsonValueKind.Array ? [] : d.EnumerateArray().Select(r => new ClusterResource(r.Str("id") ?? "", r.Str("type") ?? "",
            r.Str("node"), r.Long("vmid") is { } v ? (int)v : null, r.Str("name"), r.Str("status"), r.Bool("template"), r.Str("lock"), r.Str("storage"))).ToList();
    }

    /// <summary>The lowest free VMID (not a reservation: racy across clients).</summary>
    public async Task<int> GetNextIdAsync(CancellationToken ct = default)
    {
        var d = await SendAsync(HttpMethod.Get, "cluster/nextid", null, ct).ConfigureAwait(false);
        return (int)(ProxmoxJson.AsLong(d) ?? throw new RelocationException("ProxmoxResponseInvalid", FailureKind.InvalidData,
            "Proxmox returned no next VMID.", target: "cluster/nextid"));
    }

    /// <summary>True when <paramref name="vmid"/> is free now (GET /cluster/nextid?vmid=; 400 means taken).</summary>
    public async Task<bool> IsVmIdFreeAsync(int vmid, CancellationToken ct = default)
    {
        try
        {
            await SendAsync(HttpMethod.Get, "cluster/nextid", [new("vmid", I(vmid))], ct).ConfigureAwait(false);
            return true;
        }
        catch (ProxmoxApiException e) when (e.StatusCode == HttpStatusCode.BadRequest && e.Errors.ContainsKey("vmid") &&
                                            e.Errors["vmid"].Contains("already exists", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
    }

    // ---------------------------------------------------------------- VMs

    public async Task<VmStatus> GetVmStatusAsync(string node, int vmid, CancellationToken ct = default)
    {
        var d = await SendAsync(HttpMethod.Get, Vm(node, vmid) + "/status/current", null, ct).ConfigureAwait(false);
        return new VmStatus(vmid, d.Str("status") ?? "unknown", d.Str("qmpstatus"), d.Str("name"), d.Str("lock"), d.Bool("agent"),
            d.Bool("template"), d.Long("maxmem"), d.Long("uptime"));
    }

    public async Task<VmConfig> GetVmConfigAsync(string node, int vmid, CancellationToken ct = default)
    {
        var d = await SendAsync(HttpMethod.Get, Vm(node, vmid) + "/config", null, ct).ConfigureAwait(false);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        string? digest = null;
        if (d.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in d.EnumerateObject())
            {
                if (p.Name == "digest") digest = ProxmoxJson.AsString(p.Value);
                else if (ProxmoxJson.AsString(p.Value) is { } s) values[p.Name] = s;
            }
        }
        return new VmConfig(values, digest);
    }

    /// <summary>POST .../clone: returns the qmclone task (it runs on <paramref name="node"/>).</summary>
    public async Task<Upid> CloneVmAsync(string node, int vmid, CloneRequest request, CancellationToken ct = default)
    {
        var p = new List<KeyValuePair<string, string>> { new("newid", I(request.NewId)) };
        if (request.Name is not null) p.Add(new("name", request.Name));
        if (request.Full is { } full) p.Add(new("full", full ? "1" : "0"));
        if (request.Target is not null) p.Add(new("target", request.Target));
        if (request.Storage is not null) p.Add(new("storage", request.Storage));
        if (request.Format is not null) p.Add(new("format", request.Format));
        if (request.Pool is not null) p.Add(new("pool", request.Pool));
        if (request.Description is not null) p.Add(new("description", request.Description));
        return ToUpid(await SendAsync(HttpMethod.Post, Vm(node, vmid) + "/clone", p, ct).ConfigureAwait(false), "clone");
    }

    /// <summary>PUT .../config: synchronous update.</summary>
    public Task UpdateVmConfigAsync(string node, int vmid, VmConfigUpdate update, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Put, Vm(node, vmid) + "/config", update.Values, ct);

    /// <summary>
    /// POST .../config: asynchronous update; a UPID to wait for, or null when already done. With
    /// <paramref name="backgroundDelaySeconds"/> (1..30) the server waits that long for the task first.
    /// </summary>
    public async Task<Upid?> UpdateVmConfigInTaskAsync(string node, int vmid, VmConfigUpdate update, int? backgroundDelaySeconds = null,
        CancellationToken ct = default)
    {
        var p = update.Values.ToList();
        if (backgroundDelaySeconds is { } d) p.Add(new("background_delay", I(d)));
        return ToOptionalUpid(await SendAsync(HttpMethod.Post, Vm(node, vmid) + "/config", p, ct).ConfigureAwait(false));
    }

    /// <summary>PUT .../resize (grow only): a UPID on PVE ≥ 8.0, null on older servers (already done).</summary>
    public async Task<Upid?> ResizeDiskAsync(string node, int vmid, string disk, string size, string? digest = null, CancellationToken ct = default)
    {
        var p = new List<KeyValuePair<string, string>> { new("disk", disk), new("size", size) };
        if (digest is not null) p.Add(new("digest", digest));
        return ToOptionalUpid(await SendAsync(HttpMethod.Put, Vm(node, vmid) + "/resize", p, ct).ConfigureAwait(false));
    }

    /// <summary>
    /// POST .../migrate: moves a VM to <paramref name="target"/> (task qmigrate, on <paramref name="node"/>). Offline
    /// unless <paramref name="online"/>; <paramref name="withLocalDisks"/> lets local disks be copied along.
    /// </summary>
    public async Task<Upid> MigrateVmAsync(string node, int vmid, string target, bool withLocalDisks, bool online = false, CancellationToken ct = default)
    {
        var p = new List<KeyValuePair<string, string>> { new("target", target) };
        if (withLocalDisks) p.Add(new("with-local-disks", "1"));
        if (online) p.Add(new("online", "1"));
        return ToUpid(await SendAsync(HttpMethod.Post, Vm(node, vmid) + "/migrate", p, ct).ConfigureAwait(false), "migrate");
    }

    /// <summary>
    /// GET /access/permissions?path=: the caller's effective privileges on that ACL path, ACLs, roles, groups and a
    /// token's privilege separation included (pve-access-control src/PVE/API2/AccessControl.pm 'permissions').
    /// </summary>
    public async Task<IReadOnlySet<string>> GetPermissionsAsync(string path, CancellationToken ct = default)
    {
        var d = await SendAsync(HttpMethod.Get, "access/permissions", [new("path", path)], ct).ConfigureAwait(false);
        var granted = new HashSet<string>(StringComparer.Ordinal);
        if (d.ValueKind == JsonValueKind.Object && d.Prop(path) is { ValueKind: JsonValueKind.Object } privileges)
            foreach (var p in privileges.EnumerateObject()) granted.Add(p.Name);
        return granted;
    }

    /// <summary>GET /storage: the cluster's storage.cfg (id, type, content, shared).</summary>
    public async Task<IReadOnlyList<StorageDefinition>> GetStoragesAsync(CancellationToken ct = default)
    {
        var d = await SendAsync(HttpMethod.Get, "storage", null, ct).ConfigureAwait(false);
        return d.ValueKind != JsonValueKind.Array ? [] : d.EnumerateArray().Select(s => new StorageDefinition(s.Str("storage") ?? "", s.Str("type") ?? "",
            (s.Str("content") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries), s.Bool("shared"))).ToList();
    }

    public async Task<Upid> StartVmAsync(string node, int vmid, CancellationToken ct = default) =>
        ToUpid(await SendAsync(HttpMethod.Post, Vm(node, vmid) + "/status/start", null, ct).ConfigureAwait(false), "start");

    public async Task<Upid> StopVmAsync(string node, int vmid, CancellationToken ct = default) =>
        ToUpid(await SendAsync(HttpMethod.Post, Vm(node, vmid) + "/status/stop", null, ct).ConfigureAwait(false), "stop");

    public async Task<Upid> ShutdownVmAsync(string node, int vmid, bool forceStop = false, int? timeoutSeconds = null, CancellationToken ct = default)
    {
        var p = new List<KeyValuePair<string, string>>();
        if (forceStop) p.Add(new("forceStop", "1"));
        if (timeoutSeconds is { } t) p.Add(new("timeout", I(t)));
        return ToUpid(await SendAsync(HttpMethod.Post, Vm(node, vmid) + "/status/shutdown", p, ct).ConfigureAwait(false), "shutdown");
    }

    public async Task<Upid> DeleteVmAsync(string node, int vmid, bool purge = false, bool destroyUnreferencedDisks = false, CancellationToken ct = default)
    {
        var p = new List<KeyValuePair<string, string>>();
        if (purge) p.Add(new("purge", "1"));
        if (destroyUnreferencedDisks) p.Add(new("destroy-unreferenced-disks", "1"));
        return ToUpid(await SendAsync(HttpMethod.Delete, Vm(node, vmid), p, ct).ConfigureAwait(false), "delete");
    }

    // ---------------------------------------------------------------- guest agent

    /// <summary>POST .../agent/ping; throws (500) while the agent is not ready.</summary>
    public Task AgentPingAsync(string node, int vmid, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, Vm(node, vmid) + "/agent/ping", null, ct);

    public async Task<IReadOnlyList<GuestInterface>> GetGuestInterfacesAsync(string node, int vmid, CancellationToken ct = default)
    {
        var d = await SendAsync(HttpMethod.Get, Vm(node, vmid) + "/agent/network-get-interfaces", null, ct).ConfigureAwait(false);
        if (d.Prop("result") is not { ValueKind: JsonValueKind.Array } result) return [];
        return result.EnumerateArray().Select(i => new GuestInterface(i.Str("name") ?? "", i.Str("hardware-address"),
            i.Prop("ip-addresses") is { ValueKind: JsonValueKind.Array } ips
                ? ips.EnumerateArray().Select(a => new GuestIpAddress(a.Str("ip-address") ?? "", a.Str("ip-address-type") ?? "", (int)(a.Long("prefix") ?? 0))).ToList()
                : [])).ToList();
    }

    // ---------------------------------------------------------------- tasks

    public async Task<ProxmoxTaskStatus> GetTaskStatusAsync(Upid upid, CancellationToken ct = default)
    {
        var d = await SendAsync(HttpMethod.Get, $"nodes/{E(upid.Node)}/tasks/{E(upid.Text)}/status", null, ct).ConfigureAwait(false);
        return new ProxmoxTaskStatus(d.Str("upid") ?? upid.Text, d.Str("node") ?? upid.Node, d.Str("status") ?? "unknown",
            d.Str("exitstatus"), d.Str("type") ?? upid.Type, d.Str("id"), d.Str("user"));
    }

    /// <summary>One page of the task log; <paramref name="start"/> is the 0-based line offset.</summary>
    public async Task<TaskLogPage> GetTaskLogAsync(Upid upid, int start = 0, int limit = 500, CancellationToken ct = default)
    {
        var (d, total) = await SendWithTotalAsync(HttpMethod.Get, $"nodes/{E(upid.Node)}/tasks/{E(upid.Text)}/log",
            [new("start", I(start)), new("limit", I(limit))], ct).ConfigureAwait(false);
        var lines = d.ValueKind != JsonValueKind.Array ? [] : d.EnumerateArray()
            .Select(l => new TaskLogLine((int)(l.Long("n") ?? 0), l.Str("t") ?? "")).ToList();
        // A log without lines is answered with one placeholder line "no content" (pve-manager PVE/API2/Tasks.pm
        // read_task_log via PVE::Tools::dump_logfile): it is not a log line and must not advance the reader.
        if (lines is [{ N: 1, Text: "no content" }]) return new TaskLogPage([], 0);
        return new TaskLogPage(lines, total ?? start + lines.Count);
    }

    /// <summary>The whole task log (paged).</summary>
    public async Task<IReadOnlyList<TaskLogLine>> GetFullTaskLogAsync(Upid upid, CancellationToken ct = default)
    {
        var all = new List<TaskLogLine>();
        while (true)
        {
            var page = await GetTaskLogAsync(upid, all.Count, 500, ct).ConfigureAwait(false);
            all.AddRange(page.Lines);
            if (page.Lines.Count == 0 || all.Count >= page.Total) return all;
        }
    }

    /// <summary>
    /// GET /nodes/{node}/tasks: e.g. find an in-flight clone after a crash. <paramref name="vmid"/> matches the task's
    /// id field, <paramref name="since"/> its start time (pve-manager PVE/API2/Tasks.pm node_tasks).
    /// </summary>
    public async Task<IReadOnlyList<TaskListEntry>> GetNodeTasksAsync(string node, int? vmid = null, string? typeFilter = null,
        string source = "all", int limit = 50, DateTimeOffset? since = null, CancellationToken ct = default)
    {
        var p = new List<KeyValuePair<string, string>> { new("source", source), new("limit", I(limit)) };
        if (vmid is { } v) p.Add(new("vmid", I(v)));
        if (typeFilter is not null) p.Add(new("typefilter", typeFilter));
        if (since is { } from) p.Add(new("since", I(from.ToUnixTimeSeconds())));
        var d = await SendAsync(HttpMethod.Get, $"nodes/{E(node)}/tasks", p, ct).ConfigureAwait(false);
        return d.ValueKind != JsonValueKind.Array ? [] : d.EnumerateArray().Select(t => new TaskListEntry(t.Str("upid") ?? "", t.Str("node") ?? node,
            t.Str("type") ?? "", t.Str("id"), t.Str("user") ?? "", t.Str("status"),
            DateTimeOffset.FromUnixTimeSeconds(t.Long("starttime") ?? 0),
            t.Long("endtime") is { } e ? DateTimeOffset.FromUnixTimeSeconds(e) : null)).ToList();
    }

    private static Upid ToUpid(JsonElement data, string what) =>
        ToOptionalUpid(data) ?? throw new RelocationException("ProxmoxResponseInvalid", FailureKind.InvalidData,
            $"Proxmox did not return a task id for {what}.", target: what);

    private static Upid? ToOptionalUpid(JsonElement data) =>
        data.ValueKind == JsonValueKind.String ? Upid.Parse(data.GetString()!) : null;

    public void Dispose()
    {
        _http.Dispose();
        _loginLock.Dispose();
    }
}
