using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace InfraRelocation.Testing.Proxmox;

/// <summary>A handler failure: status, message (becomes the reason phrase) and optional parameter errors.</summary>
public sealed class ApiError(int status, string message, Dictionary<string, string>? errors = null) : Exception(message)
{
    public int Status { get; } = status;
    public Dictionary<string, string>? Errors { get; } = errors;
}

/// <summary>Routing, authentication, validation and the /api2/json handlers.</summary>
public sealed partial class ApiHandlers
{
    private sealed record Route(string Method, string Template, Regex Pattern, Func<Request, object?> Handler);

    private sealed record Request(string Method, string Template, Dictionary<string, string> P, string User, string? TokenId)
    {
        public string Node => P["node"];
        public int VmId => int.Parse(P["vmid"], CultureInfo.InvariantCulture);
        public string TaskUser => TokenId ?? User;
        public bool Flag(string name) => P.GetValueOrDefault(name) == "1";
    }

    private static readonly HashSet<string> MaskedParameters = new(StringComparer.Ordinal) { "password", "cipassword", "otp", "new-format-ticket" };
    private static readonly HashSet<string> IntegerConfigKeys = new(StringComparer.Ordinal)
        { "cores", "sockets", "vcpus", "balloon", "onboot", "template", "protection", "cpuunits", "numa", "kvm", "acpi", "tablet", "ciupgrade" };

    private readonly EmulatorState _state;
    private readonly List<Route> _routes = [];

    /// <summary>"METHOD /path/{param}" of every route served; each has its entry in <see cref="ApiRules"/>.</summary>
    public IEnumerable<string> RouteKeys => _routes.Select(r => r.Method + " " + r.Template);

    public ApiHandlers(EmulatorState state)
    {
        _state = state;
        Map("GET", "/version", _ => new { version = _state.Options.Version, release = string.Join('.', _state.Options.Version.Split('.').Take(2)), repoid = "0123abcd" });
        Map("GET", "/nodes", _ => _state.Nodes.Values.Select(n => new Dictionary<string, object?>
        {
            ["node"] = n.Name, ["status"] = n.Status, ["type"] = "node", ["id"] = "node/" + n.Name, ["level"] = "",
            ["ssl_fingerprint"] = _state.NodeFingerprint(n.Name), ["maxcpu"] = 8, ["maxmem"] = 34359738368L, ["mem"] = 4294967296L, ["uptime"] = 123456, ["cpu"] = 0.03,
        }).ToList());
        Map("GET", "/cluster/status", _ => _state.Nodes.Values.Select((n, i) => (object)new
        {
            type = "node", name = n.Name, id = "node/" + n.Name, nodeid = i + 1, ip = "127.0.0.1", online = n.Status == "online" ? 1 : 0, local = i == 0 ? 1 : 0, level = "",
        }).ToList());
        Map("GET", "/cluster/resources", ClusterResources);
        Map("GET", "/cluster/nextid", NextId);
        Map("GET", "/cluster/tasks", _ => _state.Tasks.Select(TaskEntry).ToList());
        Map("GET", "/pools", ListPools);
        Map("GET", "/storage", _ => _state.Storages.Select(s => new { storage = s.Id, type = s.Type, content = s.Content, shared = s.Shared ? 1 : 0 }).ToList());
        Map("GET", "/nodes/{node}/storage", r => { NodeOf(r); return _state.Storages.Select(s => new { storage = s.Id, type = s.Type, content = s.Content, active = 1, enabled = 1, shared = s.Shared ? 1 : 0, total = 107374182400L, used = 10737418240L, avail = 96636764160L }).ToList(); });
        Map("GET", "/nodes/{node}/status", r => { NodeOf(r); return new { cpu = 0.03, uptime = 123456, pveversion = "pve-manager/" + _state.Options.Version, memory = new { total = 34359738368L, used = 4294967296L, free = 30064771072L }, loadavg = new[] { "0.10", "0.20", "0.30" }, cpuinfo = new { cores = 4, cpus = 8, sockets = 1, model = "Emulated CPU" } }; });
        Map("GET", "/nodes/{node}/version", _ => new { version = _state.Options.Version, release = string.Join('.', _state.Options.Version.Split('.').Take(2)), repoid = "0123abcd" });
        Map("GET", "/nodes/{node}/dns", r => NodeOf(r).Dns.ToDictionary(kv => kv.Key, kv => (object?)kv.Value));
        Map("PUT", "/nodes/{node}/dns", r =>
        {
            var node = NodeOf(r);
            node.Dns.Clear();
            foreach (var k in new[] { "search", "dns1", "dns2", "dns3" }) if (r.P.TryGetValue(k, out var v)) node.Dns[k] = v;
            return null;
        });
        Map("GET", "/nodes/{node}/hosts", r => { var n = NodeOf(r); return new { data = n.Hosts, digest = Sha1(n.Hosts) }; });
        Map("POST", "/nodes/{node}/hosts", r =>
        {
            var n = NodeOf(r);
            if (r.P.TryGetValue("digest", out var dg) && dg != Sha1(n.Hosts)) throw new ApiError(500, "detected modified configuration - file changed by other user? Try again.");
            n.Hosts = r.P["data"];
            return null;
        });
        // Index calls drop what the caller may not VM.Audit, silently (qemu-server PVE/API2/Qemu.pm vmlist:
        // "next if !$rpcenv->check($authuser, "/vms/$vmid", ['VM.Audit'], 1)").
        Map("GET", "/nodes/{node}/qemu", r => { NodeOf(r); return _state.Vms.Values.Where(v => v.Node == r.Node && MayAudit(r, v)).Select(VmSummary).ToList(); });
        Map("GET", "/nodes/{node}/qemu/{vmid}/status/current", r =>
        {
            var vm = VmOf(r);
            var d = VmSummary(vm);
            d["qmpstatus"] = vm.Status;
            d["agent"] = AgentEnabled(vm) ? 1 : 0;
            d["ha"] = vm.HaManaged ? new Dictionary<string, object> { ["managed"] = 1, ["state"] = vm.Status == "running" ? "started" : "stopped" }
                : new Dictionary<string, object> { ["managed"] = 0 };
            return d;
        });
        Map("GET", "/nodes/{node}/qemu/{vmid}/config", r => ConfigOut(VmOf(r)));
        Map("PUT", "/nodes/{node}/qemu/{vmid}/config", r => { ApplyConfig(r, VmOf(r)); return null; });
        Map("POST", "/nodes/{node}/qemu/{vmid}/config", r =>
        {
            var vm = VmOf(r);
            ApplyConfig(r, vm);
            var task = _state.StartTask(vm.Node, "qmconfig", vm.VmId.ToString(CultureInfo.InvariantCulture), r.TaskUser);
            // background_delay: the server waits up to that long; a task done in time gives null (or 500 if it failed).
            if (r.P.TryGetValue("background_delay", out var delay) && task.Duration <= TimeSpan.FromSeconds(int.Parse(delay, CultureInfo.InvariantCulture)))
            {
                if (!task.Finished) _state.Finish(task, task.FailWith);
                if (task.ExitStatus != "OK" && !task.ExitStatus!.StartsWith("WARNINGS", StringComparison.Ordinal))
                    throw new ApiError(500, $"failed to update VM {vm.VmId}: {task.ExitStatus}");
                return null;
            }
            return task.Upid;
        });
        Map("GET", "/nodes/{node}/qemu/{vmid}/pending", r => VmOf(r).Config.Select(kv => new { key = kv.Key, value = kv.Value }).ToList());
        Map("POST", "/nodes/{node}/qemu/{vmid}/clone", Clone);
        Map("POST", "/nodes/{node}/qemu/{vmid}/migrate", Migrate);
        Map("PUT", "/nodes/{node}/qemu/{vmid}/resize", Resize);
        Map("POST", "/nodes/{node}/qemu/{vmid}/status/start", r => Power(r, "qmstart"));
        Map("POST", "/nodes/{node}/qemu/{vmid}/status/stop", r => Power(r, "qmstop"));
        Map("POST", "/nodes/{node}/qemu/{vmid}/status/shutdown", r => Power(r, "qmshutdown"));
        Map("POST", "/nodes/{node}/qemu/{vmid}/status/reboot", r => Power(r, "qmreboot"));
        Map("DELETE", "/nodes/{node}/qemu/{vmid}", Delete);
        Map("POST", "/nodes/{node}/qemu/{vmid}/agent/ping", r => { AgentReady(VmOf(r)); return new { result = new { } }; });
        Map("GET", "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", r =>
        {
            var vm = AgentReady(VmOf(r));
            var linkLocalOnly = vm.LinkLocalOnlyPolls > 0;
            if (linkLocalOnly) vm.LinkLocalOnlyPolls--;
            return new { result = Interfaces(vm, linkLocalOnly) };
        });
        Map("GET", "/nodes/{node}/qemu/{vmid}/agent/get-host-name", r =>
        {
            var vm = AgentReady(VmOf(r));
            return new { result = new Dictionary<string, string> { ["host-name"] = (vm.Config.GetValueOrDefault("name") ?? "VM" + vm.VmId).Split('.')[0] } };
        });
        Map("GET", "/nodes/{node}/tasks", NodeTasks);
        Map("GET", "/nodes/{node}/tasks/{upid}/status", TaskStatus);
        Map("GET", "/nodes/{node}/tasks/{upid}/log", TaskLog);
        Map("DELETE", "/nodes/{node}/tasks/{upid}", r =>
        {
            var t = TaskOf(r);
            if (!t.Finished) _state.Finish(t, "unexpected status");
            return null;
        });
        Map("GET", "/access/permissions", AccessPermissions);
        Map("POST", "/access/ticket", Ticket);
    }

    private void Map(string method, string template, Func<Request, object?> handler)
    {
        var rx = "^" + Regex.Replace(Regex.Escape(template), @"\\\{(\w+)}", m => $"(?<{m.Groups[1].Value}>[^/]+)") + "$";
        _routes.Add(new Route(method, template, new Regex(rx), handler));
    }

    // ------------------------------------------------------------------ pipeline

    public async Task HandleAsync(HttpContext ctx)
    {
        var method = ctx.Request.Method;
        var fullPath = ctx.Request.Path.Value ?? "/";
        var path = fullPath.StartsWith("/api2/json", StringComparison.Ordinal) ? fullPath["/api2/json".Length..] : fullPath;
        if (path.Length == 0) path = "/";
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        string? principal = null;
        int status = 200;
        string? reason = null;
        var holdAnswerMs = 0;
        try
        {
            foreach (var fault in _state.Faults.TakeRequestFaults(method, path))
            {
                switch (fault.Kind)
                {
                    case FaultKind.Delay: await Task.Delay(fault.DelayMs, ctx.RequestAborted); break;
                    case FaultKind.HoldAnswer: holdAnswerMs = fault.DelayMs; break;
                    case FaultKind.Abort:
                        status = 0; reason = "aborted";
                        ctx.Abort();
                        return;
                    case FaultKind.Status when fault.Message.Contains("{authorization}", StringComparison.Ordinal):
                        // Echoes the request's credential in the reason, as a misbehaving server or proxy may (issue 16.8).
                        // The log keeps the template: an access log records no credentials.
                        status = fault.Status; reason = fault.Message;
                        await WriteAsync(ctx, fault.Status, fault.Message.Replace("{authorization}", ctx.Request.Headers.Authorization.ToString(), StringComparison.Ordinal), null, null);
                        return;
                    case FaultKind.Status: throw new ApiError(fault.Status, fault.Message);
                }
            }
            foreach (var q in ctx.Request.Query) parameters[q.Key] = q.Value.ToString();
            var hasBody = ctx.Request.ContentLength > 0 || ctx.Request.Headers.TransferEncoding.Count > 0;
            if (hasBody && method is not ("POST" or "PUT"))
                throw new ApiError(501, $"Unexpected content for method '{method}'");
            if (hasBody) await ReadBodyAsync(ctx, parameters);

            if (!fullPath.StartsWith("/api2/json/", StringComparison.Ordinal))
                throw new ApiError(501, $"Method '{method} {fullPath}' not implemented");
            var (route, match) = FindRoute(method, path);
            if (route is null) throw new ApiError(501, $"Method '{method} {path}' not implemented");
            foreach (var name in route.Pattern.GetGroupNames().Where(g => !int.TryParse(g, out _)))
            {
                var value = Uri.UnescapeDataString(match!.Groups[name].Value);
                if (parameters.TryGetValue(name, out var other) && other != value)
                    throw new ApiError(400, "Parameter verification failed.", new() { [name] = "duplicate parameter (with different values)" });
                parameters[name] = value;
            }

            var (user, tokenId) = await AuthenticateAsync(ctx, method, route);
            principal = tokenId ?? user;
            object? data;
            lock (_state.Sync)
            {
                _state.Tick();
                if (ApiRules.Find(method, route.Template) is { } rule && RuleValidator.Validate(rule, parameters) is { Count: > 0 } errors)
                    throw new ApiError(400, "Parameter verification failed.", errors);
                var request = new Request(method, route.Template, parameters, user, tokenId);
                CheckPrivileges(request);
                data = route.Handler(request);
            }
            if (holdAnswerMs > 0)
            {
                // The server has acted; its answer is still on the way (a client killed now never learns the result).
                try { await Task.Delay(holdAnswerMs, ctx.RequestAborted); }
                catch (OperationCanceledException) { status = 0; reason = "client gone before the answer"; return; }
            }
            await WriteAsync(ctx, 200, null, data, null);
        }
        catch (ApiError e)
        {
            status = e.Status;
            reason = e.Message;
            if (e.Status == 401 && _state.Options.AuthFailureDelay > TimeSpan.Zero) await Task.Delay(_state.Options.AuthFailureDelay);
            await WriteAsync(ctx, e.Status, e.Message, null, e.Errors);
        }
        catch (KeyNotFoundException e) when (Regex.Match(e.Message, "key '([^']+)'") is { Success: true } missing)
        {
            // A required parameter the handler needed was absent (the rule table lists every required one; kept as a net).
            status = 400;
            reason = "Parameter verification failed.";
            await WriteAsync(ctx, 400, reason, null, new() { [missing.Groups[1].Value] = "property is missing and it is not optional" });
        }
        catch (Exception e) when (e is FormatException or KeyNotFoundException or JsonException or OverflowException or InvalidDataException)
        {
            // A handler die(): 500 with the message, as pveproxy does.
            status = 500;
            reason = e.Message;
            await WriteAsync(ctx, 500, e.Message, null, null);
        }
        finally
        {
            lock (_state.Sync) _state.Requests.Add(new RequestRecord(DateTimeOffset.UtcNow, method, path, Masked(parameters), status, principal, reason));
        }
    }

    private static Dictionary<string, string> Masked(Dictionary<string, string> parameters) =>
        parameters.ToDictionary(kv => kv.Key, kv => MaskedParameters.Contains(kv.Key) ? "********" : kv.Value, StringComparer.Ordinal);

    private (Route?, Match?) FindRoute(string method, string path)
    {
        foreach (var r in _routes)
        {
            if (r.Method != method) continue;
            var m = r.Pattern.Match(path);
            if (m.Success) return (r, m);
        }
        return (null, null);
    }

    private static async Task ReadBodyAsync(HttpContext ctx, Dictionary<string, string> parameters)
    {
        var type = ctx.Request.ContentType ?? "";
        if (type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            using var doc = await JsonDocument.ParseAsync(ctx.Request.Body);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                parameters[p.Name] = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString()!,
                    JsonValueKind.True => "1",
                    JsonValueKind.False => "0",
                    _ => p.Value.GetRawText(),
                };
            }
            return;
        }
        var form = await ctx.Request.ReadFormAsync();
        foreach (var f in form) parameters[f.Key] = f.Value.ToString();
    }

    private async Task<(string User, string? TokenId)> AuthenticateAsync(HttpContext ctx, string method, Route route)
    {
        var auth = ctx.Request.Headers.Authorization.ToString();
        var m = TokenHeader().Match(auth);
        if (route.Template == "/access/ticket")
        {
            if (m.Success) throw new ApiError(403, $"Permission check failed (URI '{ctx.Request.Path}' not available with API token, need proper ticket.)");
            return ("", null);
        }
        if (m.Success)
        {
            var value = Uri.UnescapeDataString(m.Groups[1].Value.Trim());
            var eq = value.LastIndexOf('=');
            var id = eq > 0 ? value[..eq] : value;
            lock (_state.Sync)
            {
                if (eq <= 0 || !_state.Tokens.TryGetValue(id, out var secret) || !CryptographicOperations.FixedTimeEquals(
                        System.Text.Encoding.UTF8.GetBytes(secret), System.Text.Encoding.UTF8.GetBytes(value[(eq + 1)..])))
                    throw new ApiError(401, "Authentication failed!");
            }
            if (ApiRules.Find(method, route.Template) is { AllowToken: false })
                throw new ApiError(403, $"Permission check failed (URI '{ctx.Request.Path}' not available with API token, need proper ticket.)");
            await Task.CompletedTask;
            return (id[..id.IndexOf('!')], id);
        }
        var ticket = ctx.Request.Cookies["PVEAuthCookie"];
        if (ticket is null && auth.StartsWith("PVEAuthCookie=", StringComparison.Ordinal)) ticket = auth["PVEAuthCookie=".Length..];
        if (ticket is null) throw new ApiError(401, "No ticket");
        lock (_state.Sync)
        {
            if (!_state.Tickets.TryGetValue(ticket, out var t) || DateTimeOffset.UtcNow - t.Issued > TimeSpan.FromHours(2))
                throw new ApiError(401, "Authentication failed!");
            if (method != "GET" && ctx.Request.Headers["CSRFPreventionToken"].ToString() != t.Csrf)
                throw new ApiError(401, "Permission denied - invalid csrf token");
            return (t.User, null);
        }
    }

    [GeneratedRegex(@"^PVEAPIToken[= ](.+)$")]
    private static partial Regex TokenHeader();

    /// <summary>Whether the caller lacks <paramref name="priv"/> on <paramref name="path"/> (a denial on a path covers its children).</summary>
    private bool IsDenied(Request r, string path, string priv) =>
        _state.Denied.Any(d => (d.Principal == "*" || d.Principal == r.TaskUser || d.Principal == r.User) && d.Privilege == priv
                               && (d.Path == path || (d.Path != "/" && path.StartsWith(d.Path + "/", StringComparison.Ordinal)) || d.Path == "/"));

    /// <summary>Every privilege the emulator knows (pve-access-control src/PVE/AccessControl.pm privilege list, the ones in use here).</summary>
    private static readonly string[] KnownPrivileges =
    [
        "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.Audit", "Pool.Allocate", "Pool.Audit", "SDN.Audit", "SDN.Use",
        "Sys.Audit", "Sys.Modify", "VM.Allocate", "VM.Audit", "VM.Clone", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Cloudinit",
        "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options", "VM.GuestAgent.Audit",
        "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.Monitor", "VM.PowerMgmt",
    ];

    /// <summary>
    /// pve-access-control src/PVE/API2/AccessControl.pm 'permissions': with <c>path</c>, the caller's effective
    /// privileges there ($rpcenv->permissions); without, a map of paths. Here everything is granted except the denials.
    /// </summary>
    private object? AccessPermissions(Request r)
    {
        Dictionary<string, int> On(string path) => KnownPrivileges.Where(p => !IsDenied(r, path, p)).ToDictionary(p => p, _ => 1);
        if (r.P.TryGetValue("path", out var path)) return new Dictionary<string, object> { [path] = On(path) };
        var tree = new Dictionary<string, object> { ["/"] = On("/") };
        foreach (var denied in _state.Denied.Select(d => d.Path).Distinct()) tree[denied] = On(denied);
        return tree;
    }

    private bool MayAudit(Request r, VmState vm) => !IsDenied(r, "/vms/" + vm.VmId, "VM.Audit");

    private void CheckPrivileges(Request r)
    {
        if (r.P.ContainsKey("skiplock") && r.TaskUser != "root@pam")
            throw new ApiError(400, "Parameter verification failed.", new() { ["skiplock"] = "Only root may use this option." });
        bool Denied(string path, string priv) => IsDenied(r, path, priv);
        if (r.Template == "/nodes/{node}/qemu/{vmid}/config" && r.Method is "PUT" or "POST")
        {
            // Per-key privileges, as qemu-server checks them.
            foreach (var key in r.P.Keys.Where(k => k is not ("node" or "vmid" or "digest" or "skiplock" or "delete" or "revert" or "background_delay")))
            {
                var priv = ConfigPrivilege(key);
                if (Denied("/vms/" + r.VmId, priv)) throw new ApiError(403, $"Permission check failed (/vms/{r.VmId}, {priv})");
            }
            return;
        }
        if (ApiRules.Find(r.Method, r.Template) is { } rule && RuleValidator.CheckPermission(rule, r.P, Denied) is { } failed)
            throw new ApiError(403, $"Permission check failed ({failed})");
    }

    private static string ConfigPrivilege(string key) => Regex.Replace(key, @"\d+$", "") switch
    {
        "cores" or "sockets" or "cpu" or "vcpus" or "cpulimit" or "cpuunits" or "numa" or "affinity" => "VM.Config.CPU",
        "memory" or "balloon" or "shares" => "VM.Config.Memory",
        "net" => "VM.Config.Network",
        "ipconfig" or "ciuser" or "cipassword" or "sshkeys" or "nameserver" or "searchdomain" or "citype" or "ciupgrade" or "cicustom" => "VM.Config.Cloudinit",
        "scsi" or "ide" or "sata" or "virtio" or "efidisk" or "tpmstate" or "unused" => "VM.Config.Disk",
        _ => "VM.Config.Options",
    };

    private async Task WriteAsync(HttpContext ctx, int status, string? message, object? data, Dictionary<string, string>? errors)
    {
        if (ctx.RequestAborted.IsCancellationRequested) return;
        ctx.Response.StatusCode = status;
        if (message is not null)
        {
            var firstLine = message.Split('\n')[0];
            ctx.Features.Get<IHttpResponseFeature>()!.ReasonPhrase = firstLine;
            ctx.Response.Headers.Connection = "close";
        }
        var body = new Dictionary<string, object?> { ["data"] = data };
        if (errors is not null) body["errors"] = errors;
        if (message is not null && _state.Options.IncludeMessageField) body["message"] = errors is null ? message + "\n" : message + "\n";
        if (data is TaskLogResult log) { body["data"] = log.Lines; body["total"] = log.Total; }
        ctx.Response.ContentType = "application/json;charset=UTF-8";
        await ctx.Response.WriteAsync(JsonSerializer.Serialize(body));
    }

    // ------------------------------------------------------------------ helpers

    private static string Sha1(string s) => Convert.ToHexString(SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(s))).ToLowerInvariant();


    private NodeState NodeOf(Request r) =>
        _state.Nodes.TryGetValue(r.Node, out var n) ? n : throw new ApiError(500, $"no such cluster node '{r.Node}'");

    private VmState VmOf(Request r)
    {
        if (_state.Vms.TryGetValue(r.VmId, out var vm) && vm.Node == r.Node) return vm;
        throw new ApiError(500, $"Configuration file 'nodes/{r.Node}/qemu-server/{r.VmId}.conf' does not exist");
    }

    private static void CheckLock(VmState vm, Request r)
    {
        if (vm.Lock is { } l && !r.Flag("skiplock")) throw new ApiError(500, $"VM is locked ({l})");
    }

    private static bool AgentEnabled(VmState vm) =>
        vm.Config.TryGetValue("agent", out var a) && Regex.IsMatch(a, @"^(enabled=)?1(,|$)");

    private Dictionary<string, object?> VmSummary(VmState vm)
    {
        var d = new Dictionary<string, object?>
        {
            ["vmid"] = vm.VmId, ["name"] = vm.Config.GetValueOrDefault("name"), ["status"] = vm.Status,
            ["cpus"] = int.TryParse(vm.Config.GetValueOrDefault("cores"), out var c) ? c : 1,
            ["maxmem"] = MemoryMiB(vm) * 1048576L, ["maxdisk"] = 8589934592L, ["mem"] = vm.Status == "running" ? 536870912L : 0L,
            ["uptime"] = vm.StartedAt is { } s && vm.Status == "running" ? (long)(DateTimeOffset.UtcNow - s).TotalSeconds : 0L,
        };
        if (vm.IsTemplate) d["template"] = 1;
        if (vm.Lock is { } l) d["lock"] = l;
        return d;
    }

    private static long MemoryMiB(VmState vm)
    {
        var m = Regex.Match(vm.Config.GetValueOrDefault("memory") ?? "512", @"(\d+)");
        return m.Success ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 512;
    }

    private static Dictionary<string, object?> ConfigOut(VmState vm)
    {
        var d = new Dictionary<string, object?>();
        foreach (var (k, v) in vm.Config)
            d[k] = IntegerConfigKeys.Contains(k) && long.TryParse(v, out var n) ? n : v;
        d["digest"] = vm.Digest();
        return d;
    }

    /// <summary>
    /// pve-manager PVE/API2/Cluster.pm 'resources': the VM list, node and lock are current (pmxcfs vmlist and
    /// config properties), while name, status and template come from pvestatd's rrd broadcast
    /// (PVE::API2Tools::extract_vm_stats), up to <see cref="EmulatorOptions.ResourceLag"/> old; a VM too new for it
    /// has no name yet. Entries the caller may not VM.Audit are left out.
    /// </summary>
    private object? ClusterResources(Request r)
    {
        var type = r.P.GetValueOrDefault("type");
        var list = new List<object>();
        if (type is null or "node")
            list.AddRange(_state.Nodes.Values.Select(n => new { id = "node/" + n.Name, type = "node", node = n.Name, status = n.Status, maxcpu = 8, maxmem = 34359738368L }));
        if (type is null or "vm")
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var vm in _state.Vms.Values.Where(v => MayAudit(r, v)))
            {
                if (vm.Published is null || now - vm.Published.At >= _state.Options.ResourceLag)
                    vm.Published = new PublishedStats(vm.Config.GetValueOrDefault("name"), vm.Status, vm.IsTemplate, now);
                var d = VmSummary(vm);
                d["id"] = "qemu/" + vm.VmId;
                d["type"] = "qemu";
                d["node"] = vm.Node;
                d["name"] = vm.Published.Name ?? "";
                d["status"] = vm.Published.Status;
                d["template"] = vm.Published.Template ? 1 : 0;
                list.Add(d);
            }
        }
        if (type is null or "storage")
            foreach (var n in _state.Nodes.Values)
                list.AddRange(_state.Storages.Select(s => new { id = $"storage/{n.Name}/{s.Id}", type = "storage", node = n.Name, storage = s.Id, status = "available", content = s.Content, shared = s.Shared ? 1 : 0, plugintype = s.Type }));
        return list;
    }

    private object? NextId(Request r)
    {
        if (r.P.TryGetValue("vmid", out var wanted))
        {
            var id = int.Parse(wanted, CultureInfo.InvariantCulture);
            if (_state.Vms.ContainsKey(id)) throw new ApiError(400, "Parameter verification failed.", new() { ["vmid"] = $"VM {id} already exists" });
            return id.ToString(CultureInfo.InvariantCulture);
        }
        var next = 100;
        while (_state.Vms.ContainsKey(next)) next++;
        return next.ToString(CultureInfo.InvariantCulture);
    }

    // pve-access-control PVE/API2/Pool.pm GET /pools: every pool, or with poolid only that one and its members
    // (id "qemu/<vmid>", node, type, vmid); an unknown poolid is "pool '<id>' does not exist" (HTTP 500).
    private object? ListPools(Request r)
    {
        var only = r.P.GetValueOrDefault("poolid");
        if (only is not null && !_state.Pools.ContainsKey(only)) throw new ApiError(500, $"pool '{only}' does not exist");
        return _state.Pools.Where(p => only is null || p.Key == only).Select(p => only is null
            ? (object)new { poolid = p.Key }
            : new
            {
                poolid = p.Key,
                members = p.Value.Where(_state.Vms.ContainsKey).Select(id => new
                {
                    id = $"qemu/{id}", node = _state.Vms[id].Node, type = "qemu", vmid = id,
                }).ToList(),
            }).ToList();
    }

    private object? Clone(Request r)
    {
        var source = VmOf(r);
        var newId = int.Parse(r.P["newid"], CultureInfo.InvariantCulture);
        if (source.Lock is { } l && l != "clone") throw new ApiError(500, $"VM is locked ({l})");
        if (_state.Vms.ContainsKey(newId)) throw new ApiError(500, $"unable to create VM {newId}: config file already exists");
        var full = r.P.TryGetValue("full", out var f) ? f == "1" : !source.IsTemplate;
        if (!full && r.P.ContainsKey("storage")) throw new ApiError(500, "parameter 'storage' not allowed for linked clones");
        if (!full && r.P.ContainsKey("format")) throw new ApiError(500, "parameter 'format' not allowed for linked clones");
        var target = r.P.GetValueOrDefault("target") ?? source.Node;
        if (!_state.Nodes.ContainsKey(target)) throw new ApiError(500, $"no such cluster node '{target}'");
        // qemu-server PVE/API2/Qemu.pm clone_vm: $check_storage_access_clone calls the VM shared only when every
        // volume (disks and cloud-init/ISO drives alike) is on a storage marked shared; a target needs that.
        if (target != source.Node && !VolumesOf(source).All(v => _state.Storages.Any(s => s.Id == v && s.Shared)))
            throw new ApiError(500, $"can't clone VM to node '{target}' (VM uses local storage)");
        if (r.P.TryGetValue("storage", out var st) && !_state.Storages.Any(s => s.Id == st && s.Content.Contains("images")))
            throw new ApiError(400, "Parameter verification failed.", new() { ["storage"] = $"storage '{st}' does not support vm images" });
        // qemu-server PVE/API2/Qemu.pm clone_vm: $rpcenv->check_pool_exist($pool) before anything is created;
        // pve-access-control PVE/RPCEnvironment.pm check_pool_exist: raise_perm_exc("pool '$pool' does not exist"),
        // a 403 "Permission check failed (...)".
        var pool = r.P.GetValueOrDefault("pool");
        if (pool is not null && !_state.Pools.ContainsKey(pool))
            throw new ApiError(403, $"Permission check failed (pool '{pool}' does not exist)");

        // The new config is written on the target node ("After the clone the new config lives on target"); the task runs on the source node.
        var clone = _state.AddVm(newId, target, new Dictionary<string, string> { ["lock"] = "clone" });
        clone.Published = new PublishedStats(null, "unknown", false, DateTimeOffset.UtcNow); // not yet broadcast by pvestatd
        var name = r.P.GetValueOrDefault("name") ?? "Copy-of-VM-" + (source.Config.GetValueOrDefault("name") ?? source.VmId.ToString(CultureInfo.InvariantCulture));
        var disks = source.Config.Where(kv => Regex.IsMatch(kv.Key, @"^(scsi|virtio|sata|ide)\d+$") && !kv.Value.Contains("media=cdrom")).Select(kv => kv.Key).ToList();
        // clone_vm's worker names the new VM in its first line; the task id is the source VMID
        // (qemu-server PVE/API2/Qemu.pm clone_vm: print "creating a clone of VM $vmid with ID $newid"; fork_worker('qmclone', $vmid, ...)).
        var lines = new List<(double, string)> { (0.0, $"creating a clone of VM {source.VmId} with ID {newId}") };
        foreach (var disk in disks)
        {
            lines.Add((0.0, $"create {(full ? "full" : "linked")} clone of drive {disk} ({source.Config[disk].Split(',')[0]})"));
            if (full)
                foreach (var pct in new[] { 0.0, 25.0, 50.0, 75.0, 100.0 })
                    lines.Add((pct / 100 * 0.9, $"drive-{disk}: transferred {pct * 0.08:0.00} GiB of 8.0 GiB ({pct:0.00}%)"));
        }
        var task = _state.StartTask(source.Node, "qmclone", source.VmId.ToString(CultureInfo.InvariantCulture), r.TaskUser, ok =>
        {
            if (!ok) { _state.Vms.Remove(newId); return; }
            clone.Config.Clear();
            foreach (var (k, v) in source.Config)
            {
                if (k is "template" or "lock") continue;
                clone.Config[k] = Regex.IsMatch(k, @"^net\d+$") ? Regex.Replace(v, @"([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}", EmulatorState.RandomMac())
                    : Regex.IsMatch(k, @"^(scsi|virtio|sata|ide)\d+$") ? CloneVolume(v, source.VmId, newId, full ? st : null)
                    : k == "smbios1" ? $"uuid={Guid.NewGuid()}" : v;
            }
            clone.Config["name"] = name;
            if (r.P.TryGetValue("description", out var desc)) clone.Config["description"] = desc;
            // clone_vm's worker: PVE::AccessControl::add_vm_to_pool($newid, $pool) if $pool, once the config is written.
            if (pool is not null) _state.Pools[pool].Add(newId);
        }, lines);
        return task.Upid;
    }

    private void ApplyConfig(Request r, VmState vm)
    {
        CheckLock(vm, r);
        if (r.P.TryGetValue("digest", out var digest) && !string.Equals(digest, vm.Digest(), StringComparison.OrdinalIgnoreCase))
            throw new ApiError(500, "detected modified configuration - file changed by other user? Try again.");
        if (r.P.TryGetValue("sshkeys", out var keys))
        {
            string decoded;
            try { decoded = Uri.UnescapeDataString(keys); }
            catch (UriFormatException) { throw new ApiError(400, "Parameter verification failed.", new() { ["sshkeys"] = $"invalid format - invalid urlencoded string: {keys}" }); }
            if (!Regex.IsMatch(keys, @"^[-%a-zA-Z0-9_.!~*'()]*$"))
                throw new ApiError(400, "Parameter verification failed.", new() { ["sshkeys"] = $"invalid format - invalid urlencoded string: {keys}" });
            foreach (var line in decoded.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
                if (!Regex.IsMatch(line, @"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-\S+)\s+[A-Za-z0-9+/]+={0,3}(\s.*)?$"))
                    throw new ApiError(500, "SSH public key validation error");
        }
        if (r.P.TryGetValue("memory", out var mem) && !Regex.IsMatch(mem, @"^(current=)?\d+$"))
            throw new ApiError(400, "Parameter verification failed.", new() { ["memory"] = $"value does not match the regex pattern" });
        foreach (var key in r.P.GetValueOrDefault("delete", "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            vm.Config.Remove(key);
        foreach (var (k, v) in r.P)
        {
            if (k is "node" or "vmid" or "digest" or "delete" or "revert" or "skiplock" or "background_delay") continue;
            var value = v;
            if (Regex.IsMatch(k, @"^net\d+$") && !Regex.IsMatch(v, @"([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}"))
            {
                var parts = v.Split(',').ToList();
                parts[0] = parts[0].Contains('=') && !parts[0].StartsWith("model=", StringComparison.Ordinal) ? parts[0]
                    : parts[0].Replace("model=", "") + "=" + EmulatorState.RandomMac();
                value = string.Join(',', parts);
            }
            if (k == "cipassword") value = "**********";
            vm.Config[k] = value;
        }
    }

    /// <summary>
    /// qemu-server PVE/API2/Qemu.pm resize_vm: since qemu-server 8.0 every check (lock, digest, disk, shrink) runs
    /// inside the 'resize' worker under the config lock, so each refusal is a failed task, not an HTTP error.
    /// With <see cref="EmulatorOptions.ResizeReturnsUpid"/> off it answers as before 8.0: synchronous, null.
    /// </summary>
    private object? Resize(Request r)
    {
        var vm = VmOf(r);
        var m = Regex.Match(r.P["size"], @"^(\+)?(\d+(?:\.\d+)?)([KMGT])?$");
        if (!m.Success) throw new ApiError(400, "Parameter verification failed.", new() { ["size"] = "value does not match the regex pattern" });
        string? next = null;
        string? Check()
        {
            if (vm.Lock is { } l && !r.Flag("skiplock")) return $"VM is locked ({l})";
            if (r.P.TryGetValue("digest", out var digest) && !string.Equals(digest, vm.Digest(), StringComparison.OrdinalIgnoreCase))
                return "detected modified configuration - file changed by other user? Try again.";
            var disk = r.P["disk"];
            if (!vm.Config.TryGetValue(disk, out var value)) return $"disk '{disk}' does not exist";
            if (value.Contains("media=cdrom")) return "you can't resize a cdrom";
            var current = SizeBytes(Regex.Match(value, @"size=([^,]+)").Groups[1].Value);
            var amount = (long)(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) * UnitBytes(m.Groups[3].Value));
            var size = m.Groups[1].Success ? current + amount : amount;
            if (size < current) return "shrinking disks is not supported";
            next = Regex.IsMatch(value, @"size=") ? Regex.Replace(value, @"size=[^,]+", "size=" + FormatSize(size)) : value + ",size=" + FormatSize(size);
            return null;
        }
        var error = Check();
        if (!_state.Options.ResizeReturnsUpid)
        {
            if (error is not null) throw new ApiError(500, error);
            vm.Config[r.P["disk"]] = next!;
            return null;
        }
        return _state.StartTask(vm.Node, "resize", vm.VmId.ToString(CultureInfo.InvariantCulture), r.TaskUser, ok =>
        {
            if (ok && next is not null) vm.Config[r.P["disk"]] = next;
        }, failWith: error).Upid;
    }

    /// <summary>
    /// qemu-server PVE/API2/Qemu.pm migrate_vm: a target equal to the local node is a parameter error; a running
    /// VM needs online=1; a locked VM is refused; then a 'qmigrate' worker on the source node (PVE::QemuMigrate)
    /// holds lock 'migrate', copies local volumes offline to the same storage id on the target and moves the config.
    /// </summary>
    private object? Migrate(Request r)
    {
        var vm = VmOf(r);
        var target = r.P["target"];
        if (target == vm.Node) throw new ApiError(400, "Parameter verification failed.", new() { ["target"] = "target is local node." });
        if (!_state.Nodes.ContainsKey(target)) throw new ApiError(500, $"no such cluster node '{target}'");
        if (vm.Status == "running" && !r.Flag("online")) throw new ApiError(500, "can't migrate running VM without --online");
        CheckLock(vm, r);
        vm.Config["lock"] = "migrate";
        var lines = VolumesOf(vm).Where(v => !_state.Storages.Any(s => s.Id == v && s.Shared))
            .Select(v => (0.2, $"found local disk on storage '{v}'")).ToList();
        lines.Add((0.9, $"migration finished successfully"));
        return _state.StartTask(vm.Node, "qmigrate", vm.VmId.ToString(CultureInfo.InvariantCulture), r.TaskUser, ok =>
        {
            vm.Config.Remove("lock");
            if (ok) vm.Node = target;
        }, lines).Upid;
    }

    /// <summary>The storage ids of a VM's drives (disks, cloud-init and ISO drives).</summary>
    private static IEnumerable<string> VolumesOf(VmState vm) =>
        vm.Config.Where(kv => Regex.IsMatch(kv.Key, @"^(scsi|virtio|sata|ide|efidisk|tpmstate)\d+$") && kv.Value.Contains(':'))
            .Select(kv => kv.Value.Split(',')[0].Split(':')[0]).Distinct();

    /// <summary>A drive of the clone: the new VM's volume name, on <paramref name="storage"/> when a full clone names one.</summary>
    private static string CloneVolume(string drive, int sourceId, int newId, string? storage)
    {
        var value = drive.Replace($"-{sourceId}-", $"-{newId}-").Replace("base-", "vm-");
        return storage is null ? value : Regex.Replace(value, "^[^:,]+:", storage + ":");
    }

    private static long UnitBytes(string unit) => unit switch { "K" => 1L << 10, "M" => 1L << 20, "G" => 1L << 30, "T" => 1L << 40, _ => 1L };

    private static long SizeBytes(string text)
    {
        var m = Regex.Match(text, @"^(\d+(?:\.\d+)?)([KMGT])?$");
        return m.Success ? (long)(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * UnitBytes(m.Groups[2].Value)) : 0;
    }

    private static string FormatSize(long bytes)
    {
        foreach (var (u, b) in new[] { ("T", 1L << 40), ("G", 1L << 30), ("M", 1L << 20), ("K", 1L << 10) })
            if (bytes % b == 0) return (bytes / b).ToString(CultureInfo.InvariantCulture) + u;
        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    private object? Power(Request r, string type)
    {
        var vm = VmOf(r);
        CheckLock(vm, r);
        var id = vm.VmId.ToString(CultureInfo.InvariantCulture);
        switch (type)
        {
            case "qmstart" when vm.HaManaged:
                // qemu-server PVE/API2/Qemu.pm vm_start: an HA-managed VM gets an 'hastart' task that only asks the
                // HA stack for state 'started' (ha-manager set); the node's LRM then runs its own qmstart task.
                return _state.StartTask(vm.Node, "hastart", id, r.TaskUser, ok =>
                {
                    if (ok) _state.StartTask(vm.Node, "qmstart", id, "root@pam", started =>
                    {
                        if (!started) return;
                        vm.Status = "running";
                        vm.StartedAt = DateTimeOffset.UtcNow;
                        vm.AgentPolls = 0;
                    });
                }, [(0.0, $"Requesting HA start for VM {id}")]).Upid;
            case "qmstart":
                var alreadyRunning = vm.Status == "running";
                return _state.StartTask(vm.Node, type, id, r.TaskUser, ok =>
                {
                    if (!ok) return;
                    vm.Status = "running";
                    vm.StartedAt = DateTimeOffset.UtcNow;
                    vm.AgentPolls = 0;
                }, [(0.0, $"generating cloud-init ISO")], failWith: alreadyRunning ? $"VM {id} already running" : null).Upid;
            case "qmreboot":
                if (vm.Status != "running") throw new ApiError(500, $"VM {id} not running");
                return _state.StartTask(vm.Node, type, id, r.TaskUser, ok => { if (ok) { vm.AgentPolls = 0; vm.StartedAt = DateTimeOffset.UtcNow; } }).Upid;
            default:
                var fail = type == "qmshutdown" && vm.IgnoresShutdown && !r.Flag("forceStop") ? "VM quit/powerdown failed - got timeout" : null;
                return _state.StartTask(vm.Node, type, id, r.TaskUser, ok =>
                {
                    if (!ok) return;
                    vm.Status = "stopped";
                    vm.StartedAt = null;
                }, failWith: fail).Upid;
        }
    }

    private object? Delete(Request r)
    {
        var vm = VmOf(r);
        CheckLock(vm, r);
        if (vm.Status == "running") throw new ApiError(500, $"VM {vm.VmId} is running - destroy failed");
        if (vm.Config.GetValueOrDefault("protection") == "1") throw new ApiError(500, $"can't remove VM {vm.VmId} - protection mode enabled");
        return _state.StartTask(vm.Node, "qmdestroy", vm.VmId.ToString(CultureInfo.InvariantCulture), r.TaskUser, ok =>
        {
            if (ok) _state.Vms.Remove(vm.VmId);
        }).Upid;
    }

    private VmState AgentReady(VmState vm)
    {
        if (!AgentEnabled(vm)) throw new ApiError(500, "No QEMU guest agent configured");
        if (vm.Status != "running") throw new ApiError(500, $"VM {vm.VmId} is not running");
        if (vm.AgentPolls++ < (vm.AgentBootPolls ?? _state.Options.AgentBootPolls)) throw new ApiError(500, "QEMU guest agent is not running");
        return vm;
    }

    private static object Interfaces(VmState vm, bool linkLocalOnly)
    {
        var mac = Regex.Match(vm.Config.GetValueOrDefault("net0") ?? "", @"([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}").Value.ToLowerInvariant();
        var ipconfig = Regex.Match(vm.Config.GetValueOrDefault("ipconfig0") ?? "", @"(?:^|,)ip=(\d+\.\d+\.\d+\.\d+)/(\d+)");
        var ip = vm.GuestIp ?? (ipconfig.Success ? ipconfig.Groups[1].Value : $"192.0.2.{10 + vm.VmId % 200}");
        var prefix = ipconfig.Success ? int.Parse(ipconfig.Groups[2].Value, CultureInfo.InvariantCulture) : 24;
        static Dictionary<string, object> Addr(string a, string t, int p) => new() { ["ip-address"] = a, ["ip-address-type"] = t, ["prefix"] = p };
        return new object[]
        {
            new Dictionary<string, object> { ["name"] = "lo", ["hardware-address"] = "00:00:00:00:00:00",
                ["ip-addresses"] = new[] { Addr("127.0.0.1", "ipv4", 8), Addr("::1", "ipv6", 128) } },
            new Dictionary<string, object> { ["name"] = "eth0", ["hardware-address"] = mac,
                ["ip-addresses"] = linkLocalOnly ? new[] { Addr("fe80::be24:11ff:fe00:1", "ipv6", 64) }
                    : new[] { Addr(ip, "ipv4", prefix), Addr("fe80::be24:11ff:fe00:1", "ipv6", 64) } },
        };
    }

    // ------------------------------------------------------------------ tasks

    private EmulatorTask TaskOf(Request r)
    {
        var t = _state.Tasks.FirstOrDefault(x => x.Upid == r.P["upid"]);
        if (t is null || t.Node != r.Node)
        {
            if (!Regex.IsMatch(r.P["upid"], "^UPID:")) throw new ApiError(400, "Parameter verification failed.", new() { ["upid"] = "unable to parse worker upid" });
            throw new ApiError(400, "Parameter verification failed.", new() { ["upid"] = "no such task" });
        }
        return t;
    }

    private static Dictionary<string, object?> TaskEntry(EmulatorTask t)
    {
        var d = new Dictionary<string, object?>
        {
            ["upid"] = t.Upid, ["node"] = t.Node, ["pid"] = t.Pid, ["pstart"] = t.PStart, ["starttime"] = t.StartTime.ToUnixTimeSeconds(),
            ["type"] = t.Type, ["id"] = t.Id, ["user"] = t.User.Split('!')[0],
        };
        if (t.User.Contains('!')) d["tokenid"] = t.User.Split('!')[1];
        if (t.Finished) { d["status"] = t.ExitStatus; d["endtime"] = t.EndTime!.Value.ToUnixTimeSeconds(); }
        return d;
    }

    // pve-manager PVE/API2/Tasks.pm node_tasks: source archive (finished), active (running) or all; filters vmid (the
    // task's id field), typefilter, userfilter (substring, any case), since/until (start time); a running task is
    // listed with status "RUNNING" and no endtime.
    private object? NodeTasks(Request r)
    {
        NodeOf(r);
        var source = r.P.GetValueOrDefault("source", "archive");
        long? Epoch(string name) => r.P.TryGetValue(name, out var v) ? long.Parse(v, CultureInfo.InvariantCulture) : null;
        var (since, until) = (Epoch("since"), Epoch("until"));
        var q = _state.Tasks.Where(t => t.Node == r.Node)
            .Where(t => source == "all" || (source == "active") != t.Finished)
            .Where(t => !r.P.TryGetValue("vmid", out var v) || t.Id == v)
            .Where(t => !r.P.TryGetValue("typefilter", out var tf) || t.Type == tf)
            .Where(t => !r.P.TryGetValue("userfilter", out var uf) || t.User.Contains(uf, StringComparison.OrdinalIgnoreCase))
            .Where(t => (since is null || t.StartTime.ToUnixTimeSeconds() >= since) && (until is null || t.StartTime.ToUnixTimeSeconds() <= until))
            .OrderByDescending(t => t.StartTime).ThenByDescending(t => t.Pid);
        var start = int.Parse(r.P.GetValueOrDefault("start", "0"), CultureInfo.InvariantCulture);
        var limit = int.Parse(r.P.GetValueOrDefault("limit", "50"), CultureInfo.InvariantCulture);
        return q.Skip(start).Take(limit).Select(t =>
        {
            var entry = TaskEntry(t);
            if (!t.Finished) entry["status"] = "RUNNING";
            return entry;
        }).ToList();
    }

    private object? TaskStatus(Request r)
    {
        var t = TaskOf(r);
        if (t.InvisiblePolls > 0)
        {
            t.InvisiblePolls--;
            throw new ApiError(400, "Parameter verification failed.", new() { ["upid"] = "no such task" });
        }
        var d = TaskEntry(t);
        d["status"] = t.Finished ? "stopped" : "running";
        if (t.Finished) d["exitstatus"] = t.ExitStatus;
        return d;
    }

    private sealed record TaskLogResult(List<object> Lines, int Total);

    private object? TaskLog(Request r)
    {
        var t = TaskOf(r);
        var lines = _state.VisibleLines(t);
        var start = int.Parse(r.P.GetValueOrDefault("start", "0"), CultureInfo.InvariantCulture);
        var limit = int.Parse(r.P.GetValueOrDefault("limit", "50"), CultureInfo.InvariantCulture);
        // pve-manager PVE/API2/Tasks.pm read_task_log -> PVE::Tools::dump_logfile: a log without lines yet is
        // answered with one placeholder line "no content", which is not part of the log.
        if (lines.Count == 0) return new TaskLogResult([new { n = 1, t = "no content" }], 1);
        var page = lines.Select((text, i) => (object)new { n = i + 1, t = text }).Skip(start).Take(limit).ToList();
        return new TaskLogResult(page, lines.Count);
    }

    // ------------------------------------------------------------------ access

    private object? Ticket(Request r)
    {
        var user = r.P["username"];
        if (r.P.TryGetValue("realm", out var realm) && !user.Contains('@')) user += "@" + realm;
        var password = r.P["password"];
        var ok = _state.Users.TryGetValue(user, out var expected) && expected == password;
        if (!ok && _state.Tickets.TryGetValue(password, out var old) && old.User == user && DateTimeOffset.UtcNow - old.Issued < TimeSpan.FromHours(2))
            ok = true; // renewal with the current ticket
        if (!ok) throw new ApiError(401, "authentication failure");
        var now = DateTimeOffset.UtcNow;
        var ticket = $"PVE:{user}:{now.ToUnixTimeSeconds():X8}::{Convert.ToBase64String(RandomNumberGenerator.GetBytes(48))}";
        var csrf = $"{now.ToUnixTimeSeconds():X8}:{Convert.ToBase64String(RandomNumberGenerator.GetBytes(24))}";
        _state.Tickets[ticket] = (user, csrf, now);
        return new Dictionary<string, object?> { ["ticket"] = ticket, ["CSRFPreventionToken"] = csrf, ["username"] = user, ["cap"] = new { } };
    }
}
