<?php
/**
 * What a module meets of PrestaShop 8's Symfony back office, for the orders list's bulk action:
 * the grid definition that actionOrderGridDefinitionModifier receives (GridDefinition, its
 * BulkActionCollection, SubmitBulkAction with its options resolved as OptionsResolver does:
 * submit_route required, unknown options refused), and the request a bulk action posts to a
 * module's route (config/routes.yml): Request, FrameworkBundleAdminController's flashes and
 * redirect. harness_route() is the kernel's part: the route's method, the back office's route
 * token (_token), the @AdminSecurity rule of the action, the module's vendor/autoload.php.
 * Written from src/Core/Grid/ and src/PrestaShopBundle/ (PrestaShop 8.1).
 */

namespace PrestaShop\PrestaShop\Core\Grid\Action\Bulk {
    interface BulkActionInterface
    {
        public function getId();

        public function getName();

        public function getType();

        public function getOptions();
    }

    abstract class AbstractBulkAction implements BulkActionInterface
    {
        private $id;
        private $name = '';
        private $options = [];

        public function __construct($id)
        {
            $this->id = $id;
        }

        public function getId()
        {
            return $this->id;
        }

        public function getName()
        {
            return $this->name;
        }

        public function setName($name)
        {
            $this->name = $name;

            return $this;
        }

        public function getOptions()
        {
            return $this->options;
        }

        /** OptionsResolver: the required ones given, no unknown one, the defaults filled in. */
        public function setOptions(array $options)
        {
            [$required, $defaults] = $this->optionRules();
            foreach ($required as $name) {
                if (!array_key_exists($name, $options)) {
                    throw new \InvalidArgumentException(sprintf('The required option "%s" is missing.', $name));
                }
            }
            foreach (array_keys($options) as $name) {
                if (!in_array($name, $required, true) && !array_key_exists($name, $defaults)) {
                    throw new \InvalidArgumentException(sprintf('The option "%s" does not exist.', $name));
                }
            }
            $this->options = $options + $defaults;

            return $this;
        }

        /** @return array{0: list<string>, 1: array<string, mixed>} */
        abstract protected function optionRules();
    }

    final class BulkActionCollection implements \IteratorAggregate, \Countable
    {
        private $items = [];

        public function add(BulkActionInterface $action)
        {
            $this->items[$action->getId()] = $action;

            return $this;
        }

        public function all()
        {
            return array_values($this->items);
        }

        public function getIterator(): \ArrayIterator
        {
            return new \ArrayIterator(array_values($this->items));
        }

        public function count(): int
        {
            return count($this->items);
        }
    }
}

namespace PrestaShop\PrestaShop\Core\Grid\Action\Bulk\Type {
    use PrestaShop\PrestaShop\Core\Grid\Action\Bulk\AbstractBulkAction;

    final class SubmitBulkAction extends AbstractBulkAction
    {
        public function getType()
        {
            return 'submit';
        }

        protected function optionRules()
        {
            return [['submit_route'], ['confirm_message' => null, 'modal_options' => null, 'submit_method' => 'POST', 'route_params' => []]];
        }

        public function setOptions(array $options)
        {
            parent::setOptions($options);
            if (!is_string($this->getOptions()['submit_route'])) {
                throw new \InvalidArgumentException('The option "submit_route" must be a string.');
            }

            return $this;
        }
    }
}

namespace PrestaShop\PrestaShop\Core\Grid\Definition {
    use PrestaShop\PrestaShop\Core\Grid\Action\Bulk\BulkActionCollection;

    final class GridDefinition
    {
        private $id;
        private $bulkActions;

        public function __construct($id)
        {
            $this->id = $id;
            $this->bulkActions = new BulkActionCollection();
        }

        public function getId()
        {
            return $this->id;
        }

        public function getBulkActions()
        {
            return $this->bulkActions;
        }
    }
}

namespace Symfony\Component\HttpFoundation {
    class ParameterBag
    {
        protected $parameters;

        public function __construct(array $parameters = [])
        {
            $this->parameters = $parameters;
        }

        public function all()
        {
            return $this->parameters;
        }

        public function get($key, $default = null)
        {
            return array_key_exists($key, $this->parameters) ? $this->parameters[$key] : $default;
        }
    }

    class Request
    {
        public $query;
        public $request;
        public $attributes;

        public function __construct(array $query = [], array $request = [], array $attributes = [])
        {
            $this->query = new ParameterBag($query);
            $this->request = new ParameterBag($request);
            $this->attributes = new ParameterBag($attributes);
        }

        public function get($key, $default = null)
        {
            return $this->attributes->get($key, $this->query->get($key, $this->request->get($key, $default)));
        }
    }

    class RedirectResponse
    {
        private $targetUrl;

        public function __construct($url)
        {
            $this->targetUrl = $url;
        }

        public function getTargetUrl()
        {
            return $this->targetUrl;
        }
    }
}

namespace PrestaShopBundle\Security\Annotation {
    class AdminSecurity
    {
    }
}

namespace PrestaShopBundle\Controller\Admin {
    use Symfony\Component\HttpFoundation\RedirectResponse;

    class FrameworkBundleAdminController
    {
        /** @var array<string, list<string>> the session's flash bag */
        public $flashes = [];

        protected function addFlash($type, $message)
        {
            $this->flashes[$type][] = $message;
        }

        protected function redirectToRoute($route, array $parameters = [])
        {
            return new RedirectResponse('/admin-dev/index.php/' . $route . ($parameters ? '?' . http_build_query($parameters) : ''));
        }
    }
}

namespace {
    use Symfony\Component\HttpFoundation\Request;

    /** The back office's route token for the employee (PrestaShop's CSRF token of its admin URLs). */
    function harness_route_token(): string
    {
        return md5(_COOKIE_KEY_ . 'route' . (int) Context::getContext()->employee->id);
    }

    /**
     * A POST to a module's back-office route, as the kernel handles it: the route from the module's
     * config/routes.yml, its method, the URL's _token, the action's @AdminSecurity rule
     * (is_granted('<permission>', request.get('_legacy_controller')) against the tab's role), then
     * the action. Returns the redirect and the flashes, or why it was refused.
     */
    function harness_route(string $module, string $name, array $query, array $post): array
    {
        $yaml = (string) @file_get_contents(_PS_MODULE_DIR_ . $module . '/config/routes.yml');
        if (!preg_match('/^' . preg_quote($name, '/') . ":\n((?:[ \t]+.*\n?)*)/m", $yaml, $m)) {
            return ['status' => 'no_route'];
        }
        $block = $m[1];
        preg_match("/_controller:\s*'([^']+)'/", $block, $controller);
        preg_match('/_legacy_controller:\s*(\S+)/', $block, $legacy);
        preg_match('/methods:\s*\[([^\]]*)\]/', $block, $methods);
        if ($methods && !in_array('POST', array_map('trim', explode(',', $methods[1])), true)) {
            return ['status' => 'method_not_allowed'];
        }
        if (($query['_token'] ?? '') !== harness_route_token()) {
            return ['status' => 'invalid_token'];
        }
        [$class, $method] = explode('::', $controller[1]);
        $autoload = _PS_MODULE_DIR_ . $module . '/vendor/autoload.php';
        if (is_file($autoload)) {
            include_once $autoload;
        }
        $request = new Request($query, $post, ['_legacy_controller' => $legacy[1] ?? null]);
        $doc = (string) (new ReflectionMethod($class, $method))->getDocComment();
        if (preg_match('/@AdminSecurity\("is_granted\(\'(\w+)\', request\.get\(\'_legacy_controller\'\)\)"(?:, redirectRoute="(\w+)")?/', $doc, $rule)) {
            $role = ['read' => 'READ', 'update' => 'UPDATE', 'create' => 'CREATE', 'delete' => 'DELETE'][$rule[1]];
            if (!Access::isGranted('ROLE_MOD_TAB_' . strtoupper((string) $request->get('_legacy_controller')) . '_' . $role, Context::getContext()->employee->id_profile)) {
                return ['status' => 'access_denied', 'redirect' => $rule[2] ?? null];
            }
        }
        $instance = new $class();
        $response = $instance->$method($request);

        return ['status' => 'ok', 'redirect' => $response->getTargetUrl(), 'flashes' => $instance->flashes];
    }
}
