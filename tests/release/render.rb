# Renders one BOSH job template the way bosh-template's EvaluationContext does:
# `p`, `if_p` with `.else` / `.else_if_p`, ERB with trim_mode '-'.
# usage: ruby render.rb TEMPLATE PROPERTIES_JSON  (properties: spec defaults already merged)
require 'erb'
require 'json'

class TemplateContext
  class ActiveElse
    def initialize(context) @context = context end
    def else; yield; end
    def else_if_p(*names, &block) @context.if_p(*names, &block) end
  end

  class InactiveElse
    def else; end
    def else_if_p(*_names) InactiveElse.new end
  end

  def initialize(properties) @properties = properties end

  def p(*args)
    names = Array(args[0])
    names.each do |name|
      value = lookup(name)
      return value unless value.nil?
    end
    return args[1] if args.length == 2
    raise "Can't find property '#{names.inspect}'"
  end

  def if_p(*names)
    values = names.map { |name| lookup(name) }
    return ActiveElse.new(self) if values.any?(&:nil?)
    yield(*values)
    InactiveElse.new
  end

  def lookup(name)
    name.split('.').reduce(@properties) { |hash, key| hash.is_a?(Hash) ? hash[key] : nil }
  end

  def get_binding; binding; end
end

template, properties = ARGV
context = TemplateContext.new(JSON.parse(File.read(properties)))
print ERB.new(File.read(template), trim_mode: '-').result(context.get_binding)
