using System.Reflection;
using System.Runtime.Loader;

namespace InfraRelocation.Commands.Base;

/// <summary>
/// The module's private AssemblyLoadContext. InfraRelocation.Core and what it ships with (YamlDotNet, SSH.NET,
/// BouncyCastle, ...) load here from bin/private/, so the module works next to modules that ship other versions
/// of them (powershell-yaml, Posh-SSH). pwsh loads this assembly (the manifest's RootModule) and the public types
/// (InfraRelocation.dll) into the default context from bin/, the folder its own resolver probes; it never probes
/// bin/private/, so Core reaches the cmdlets only through <see cref="Initializer"/>. See docs/design/load-context.md.
/// </summary>
public sealed class ModuleLoadContext : AssemblyLoadContext
{
    private const string CoreAssemblyName = "InfraRelocation.Core";
    private static readonly Lazy<ModuleLoadContext> s_instance = new(() => new ModuleLoadContext(
        Path.Join(Path.GetDirectoryName(typeof(ModuleLoadContext).Assembly.Location)!, "private")));
    private static int s_registered;

    private readonly string _directory;

    private ModuleLoadContext(string directory) : base(name: "InfraRelocation", isCollectible: false) => _directory = directory;

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // What ships in bin/private/ loads here; anything else (the BCL, PowerShell, the public types) from the default context.
        var candidate = Path.Join(_directory, assemblyName.Name + ".dll");
        return File.Exists(candidate) ? LoadFromAssemblyPath(candidate) : null;
    }

    // The default context asks when a cmdlet first needs Core; only that name is ours to answer.
    private static Assembly? ResolveCore(AssemblyLoadContext context, AssemblyName assemblyName) =>
        assemblyName.Name == CoreAssemblyName ? s_instance.Value.LoadFromAssemblyName(assemblyName) : null;

    /// <summary>Runs on every Import-Module, before any cmdlet runs; registers the resolver once a process.</summary>
    public sealed class Initializer : IModuleAssemblyInitializer
    {
        public void OnImport()
        {
            if (Interlocked.Exchange(ref s_registered, 1) == 0)
            {
                Default.Resolving += ResolveCore;
            }
        }
    }
}
