using System.Reflection;
using System.Runtime.Loader;

namespace InfraRelocation;

/// <summary>
/// Loads the cmdlet assembly and its dependencies (YamlDotNet, SSH.NET, BouncyCastle, ...) into a private
/// AssemblyLoadContext, so the module works next to modules that ship other versions of them
/// (powershell-yaml, Posh-SSH). This assembly stays in the default context and is handed back to the
/// private context when asked for, so the output types it defines keep one identity for scripts.
/// </summary>
public sealed class LoadContext : AssemblyLoadContext
{
    private static LoadContext? s_instance;
    private static readonly object s_gate = new();

    private readonly string _directory;
    private readonly Assembly _sharedAssembly;

    private LoadContext(string directory) : base(name: "InfraRelocation", isCollectible: false)
    {
        _directory = directory;
        _sharedAssembly = typeof(LoadContext).Assembly;
    }

    /// <summary>Creates the context once per process and returns the cmdlet assembly loaded into it.</summary>
    public static Assembly Initialize()
    {
        lock (s_gate)
        {
            var directory = Path.GetDirectoryName(typeof(LoadContext).Assembly.Location)!;
            s_instance ??= new LoadContext(directory);
            return s_instance.LoadFromAssemblyName(new AssemblyName("InfraRelocation.Commands"));
        }
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (assemblyName.Name == _sharedAssembly.GetName().Name)
        {
            return _sharedAssembly;
        }

        // Anything shipped beside us loads here; everything else (the BCL, PowerShell) from the default context.
        var candidate = Path.Join(_directory, assemblyName.Name + ".dll");
        return File.Exists(candidate) ? LoadFromAssemblyPath(candidate) : null;
    }
}
